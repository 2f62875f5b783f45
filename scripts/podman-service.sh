#!/usr/bin/env bash
# Start the worker user's rootless `podman system service` on its socket unless it already answers.
# On hosts with systemd the user-scope podman.socket does this; here it is for machines without it.
set -euo pipefail
user="${KODEWAR_WORKER_USER:-kodewar}"
uid=$(id -u "$user")
run="/run/user/$uid"
sock="$run/podman/podman.sock"

ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }
if ping; then echo "podman service: up at unix://$sock"; exit 0; fi

install -d -o "$user" -g "$user" -m 0700 "$run"
as_worker() { runuser -u "$user" -- env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
  XDG_RUNTIME_DIR="$run" PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
as_worker mkdir -p "$run/podman"
# --time=0: never exit when idle. setsid detaches it from this shell's session.
as_worker setsid podman system service --time=0 "unix://$sock" \
  >>"$run/podman/service.log" 2>&1 </dev/null &
for _ in $(seq 50); do ping && { echo "podman service: started at unix://$sock"; exit 0; }; sleep 0.2; done
echo "podman service did not come up; see $run/podman/service.log" >&2
exit 1
