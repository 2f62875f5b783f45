"""The fleet under test: which hosts exist, the inventory that describes them, and the playbook runs."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from api.auth import TokenAuthority
from tests.fleet.clients import Api, Observer
from tests.fleet.support import (
    FleetError,
    Host,
    PlaybookRun,
    podman,
    run_playbook,
    start_host,
    timed,
    wait_booted,
    write_private,
)

CONTROLLER = "kw-fleet-ctl"
MAX_WORKERS = 3
LANGUAGES = ["python"]
WORKER_SLOTS = 2
TOKEN_TTL_S = 3600
# Recovery timing, shortened from the defaults (heartbeat TTL 10 s, janitor every 5 s) through kodewar_env.
HEARTBEAT_INTERVAL_S = 1
HEARTBEAT_TTL_S = 4
JANITOR_INTERVAL_S = 2


def worker_name(index: int) -> str:
    return f"kw-fleet-w{index}"


class Fleet:
    def __init__(self, work: Path, source: Path, images_archive: Path, wheelhouse_python: Path, ports: list[int]):
        self.work = work
        self.source = source
        self.images_archive = images_archive
        self.wheelhouse_python = wheelhouse_python
        self.redis_port, self.api_port, *self.metrics_ports = ports
        if len(self.metrics_ports) < MAX_WORKERS:
            raise ValueError(f"need {MAX_WORKERS + 2} ports")
        self.secrets = {
            "kodewar_jwt_secret": secrets.token_urlsafe(48),
            "kodewar_redis_password": secrets.token_urlsafe(24),
        }
        self.secrets_file = work / "secrets.json"
        write_private(self.secrets_file, self.secrets)
        self.hosts: dict[str, Host] = {}
        self.runs: list[PlaybookRun] = []
        self._api: Api | None = None
        self._observer: Observer | None = None

    # -- hosts ---------------------------------------------------------------------------------

    def add_controller(self) -> Host:
        host = Host(CONTROLLER, ("redis", "api"))
        self.hosts[host.name] = host
        return host

    def add_worker(self, index: int) -> Host:
        host = Host(
            worker_name(index),
            ("workers",),
            {"kodewar_worker_metrics_port": self.metrics_ports[index - 1]},
            storage=self.work / f"storage-w{index}",
        )
        self.hosts[host.name] = host
        return host

    def start(self, *hosts: Host) -> None:
        for host in hosts:
            with timed(f"boot host {host.name}"):
                start_host(host, self.work.name)

    def kill(self, name: str) -> None:
        """SIGKILL to the host's systemd: every process of the host dies at once, as in a power loss."""
        podman("kill", name)

    def restart(self, name: str) -> None:
        podman("start", name)
        wait_booted(name)

    @property
    def workers(self) -> list[str]:
        return [name for name, host in self.hosts.items() if host.is_worker]

    # -- inventory and playbook ------------------------------------------------------------------

    def inventory(self) -> dict[str, Any]:
        groups: dict[str, dict[str, Any]] = {"redis": {}, "api": {}, "workers": {}}
        host_vars = {
            "redis": {"kodewar_redis_bind": "127.0.0.1"},
            "api": {"kodewar_api_bind": f"127.0.0.1:{self.api_port}"},
            "workers": {},
        }
        for host in self.hosts.values():
            for group in host.groups:
                groups[group][host.name] = {**host_vars[group], **host.vars}
        return {
            "all": {
                "vars": {
                    "ansible_connection": "containers.podman.podman",
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "kodewar_redis_address": "127.0.0.1",
                    "kodewar_redis_port": self.redis_port,
                    "kodewar_apt_update_cache": False,  # the host image holds every package: no mirror traffic
                    "kodewar_wheelhouse_python": str(self.wheelhouse_python),
                    "kodewar_wheelhouse": str(self.work / "wheelhouse"),
                    "kodewar_images_source": "archive",
                    "kodewar_images_archive": str(self.images_archive),
                    "kodewar_languages": LANGUAGES,
                    "kodewar_worker_slots": WORKER_SLOTS,
                    "kodewar_env": {
                        "KODEWAR_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_INTERVAL_S),
                        "KODEWAR_HEARTBEAT_TTL_S": str(HEARTBEAT_TTL_S),
                        "KODEWAR_JANITOR_INTERVAL_S": str(JANITOR_INTERVAL_S),
                    },
                },
                "children": {group: {"hosts": hosts} for group, hosts in groups.items()},
            }
        }

    def provision(self, phase: str) -> PlaybookRun:
        number = len(self.runs) + 1
        inventory = self.work / f"inventory-{number}.json"  # JSON is YAML: Ansible's YAML inventory reads it
        inventory.write_text(json.dumps(self.inventory(), indent=2))
        with timed(f"playbook: {phase}"):
            result = run_playbook(
                self.source / "ansible", inventory, self.secrets_file, self.work, self.work / f"playbook-{number}.log"
            )
        leaked = [name for name, value in self.secrets.items() if value in result.output]
        if leaked:  # checked before anything prints or keeps the output
            log = self.work / f"playbook-{number}.log"
            log.write_text(self._redact(result.output))
            raise FleetError(f"the playbook output contains the secret(s) {leaked} (redacted in {log.name})")
        self.runs.append(result)
        return result

    def _redact(self, text: str) -> str:
        for name, value in self.secrets.items():
            text = text.replace(value, f"<{name}>")
        return text

    # -- clients ---------------------------------------------------------------------------------

    @property
    def api(self) -> Api:
        if self._api is None:
            authority = TokenAuthority(self.secrets["kodewar_jwt_secret"].encode())
            token = authority.issue("fleet-test", ["submit", "read"], TOKEN_TTL_S)
            self._api = Api(f"http://127.0.0.1:{self.api_port}", token)
        return self._api

    @property
    def api_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/metrics"

    def metrics_url(self, worker: str) -> str:
        return f"http://127.0.0.1:{self.hosts[worker].vars['kodewar_worker_metrics_port']}/metrics"

    @property
    def observer(self) -> Observer:
        if self._observer is None:
            observer = Observer(self.redis_port, self.secrets["kodewar_redis_password"])
            observer.start()
            self._observer = observer
        return self._observer

    def watch_results(self) -> None:
        """Subscribe to the 'result written' events now (the observer starts on first use)."""
        assert self.observer is not None

    def wait_for_workers(self, expected: set[str], timeout_s: float = 60) -> list[dict[str, Any]]:
        """Until the live workers (by heartbeat) are exactly those of the expected hosts."""
        deadline = time.monotonic() + timeout_s
        while True:
            workers = self.api.workers()
            if {w["host"] for w in workers} == expected:
                return workers
            if time.monotonic() > deadline:
                raise FleetError(f"live workers {[w['worker_id'] for w in workers]}, expected hosts {sorted(expected)}")
            time.sleep(0.5)

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
