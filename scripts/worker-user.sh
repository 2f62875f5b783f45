#!/usr/bin/env bash
# Create the unprivileged worker user and its rootless podman configuration (idempotent).
set -euo pipefail
user="${KODEWAR_WORKER_USER:-kodewar}"
runtime="${KODEWAR_OCI_RUNTIME:-runc}"

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /usr/sbin/nologin "$user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
grep -q "^$user:" /etc/subuid || usermod --add-subuids 100000-165535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 100000-165535 "$user"

conf="$home/.config/containers"
install -d -o "$user" -g "$user" -m 0700 "$home/.config" "$conf"
write() {  # write() DEST: install stdin as DEST owned by the worker, only when it differs
  local tmp; tmp=$(mktemp)
  cat >"$tmp"
  if ! cmp -s "$tmp" "$1"; then install -o "$user" -g "$user" -m 0644 "$tmp" "$1"; fi
  rm -f "$tmp"
}
write "$conf/containers.conf" <<CONF
# Managed by kodewar (scripts/worker-user.sh).
[containers]
# The host's hard nofile limit is below podman's default request.
default_ulimits = ["nofile=1024:1024"]
log_driver = "k8s-file"
log_size_max = 1048576

[engine]
runtime = "$runtime"
cgroup_manager = "${KODEWAR_CGROUP_MANAGER:-cgroupfs}"
events_logger = "file"
CONF
write "$conf/storage.conf" <<CONF
# Managed by kodewar (scripts/worker-user.sh).
[storage]
driver = "overlay"
CONF
