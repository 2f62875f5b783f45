# KodeWar: every target is idempotent and safe to re-run on a fresh Debian 12 machine as root.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
WORKER_USER ?= kodewar
SECCOMP_DEST ?= /etc/kodewar/seccomp.json
APT_PACKAGES := podman runc uidmap slirp4netns fuse-overlayfs catatonit redis-server debootstrap \
	curl ca-certificates python3-venv nodejs
PYTEST_WORKERS ?= 2

export KODEWAR_WORKER_USER := $(WORKER_USER)

.PHONY: help install deps venv worker podman-service seccomp base-image images up test test-unit fleet-test lint bench clean

help:
	@echo "make up     install what is missing, then run the whole stack here (API, Redis, workers) until Ctrl-C"
	@echo "make test   install what is missing, then run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make fleet-test  provision systemd-in-podman hosts with ansible/ and test the fleet (as root, ~10 min)"
	@echo "make bench  sandbox, service and end-to-end benchmarks (tables to bench/out/)"

install: deps venv worker podman-service seccomp base-image images

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$(echo $$missing | tr '\n' ' ' | sed 's/^/ /')"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "apt: all packages present"; fi

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# compat: a plain path entry in a .pth; the default editable finder costs every start ~10 ms.
	$(PY) -m pip install -q -e '.[test,dev]' --config-settings editable_mode=compat
	touch $@

# Bytecode written ahead: the CLI and workers start without compiling (~25 ms), even where the
# environment says PYTHONDONTWRITEBYTECODE or the tree is read-only to them.
venv: $(VENV)/.installed
	$(PY) -m compileall -q -j 0 api actors sandbox kodewar

worker:
	scripts/worker-user.sh

podman-service: worker
	scripts/podman-service.sh

seccomp: venv
	$(PY) -m sandbox.seccomp_profile --check
	install -D -m 0644 sandbox/seccomp.json $(SECCOMP_DEST)

base-image: podman-service
	scripts/base-image.sh

images: base-image venv
	$(VENV)/bin/kodewar images build

# The whole stack in the foreground (Redis, API, workers) until Ctrl-C; e.g. make up UP_ARGS="--port 8001".
up: install
	$(VENV)/bin/kodewar up $(UP_ARGS)

test: install
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q

test-unit: venv
	$(VENV)/bin/pytest -q tests/unit

# A real multi-host run of ansible/site.yml against systemd-in-podman hosts (tests/fleet). Root only.
fleet-test: install
	$(VENV)/bin/pytest -q -m fleet tests/fleet

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy api actors sandbox kodewar $(wildcard bench)

bench: install
	$(PY) bench/sandbox_bench.py
	$(PY) bench/service_bench.py
	$(if $(wildcard bench/e2e_bench.py),$(PY) bench/e2e_bench.py)
