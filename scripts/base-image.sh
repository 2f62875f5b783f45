#!/usr/bin/env bash
# Build localhost/kodewar/base:bookworm with debootstrap and import it into the worker's storage.
# No registry is reachable here, so every language image starts from this one.
set -euo pipefail
user="${KODEWAR_WORKER_USER:-kodewar}"
image="${KODEWAR_BASE_IMAGE:-localhost/kodewar/base:bookworm}"
uid=$(id -u "$user")
as_worker() { runuser -u "$user" -- env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
  XDG_RUNTIME_DIR="/run/user/$uid" PATH=/usr/local/bin:/usr/bin:/bin "$@"; }

if [ "${1:-}" != "--force" ] && as_worker podman image exists "$image"; then
  echo "base image: $image present"; exit 0
fi
mirror=$(sed -n 's/^URIs: *//p; s/^deb \(http[^ ]*\) bookworm .*/\1/p' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -m1 '/debian/\?$' || true)
mirror="${KODEWAR_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
mirror="${mirror%/}"
root=$(mktemp -d /var/tmp/kodewar-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image: debootstrap bookworm from $mirror"
security="${KODEWAR_DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}"
debootstrap --variant=minbase --include=python3 bookworm "$root" "$mirror" >/dev/null
# Updates and security fixes reach every language image through these sources.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
chroot "$root" apt-get -q update >/dev/null
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -q -y upgrade >/dev/null
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
tar -C "$root" --numeric-owner -c . | as_worker podman import \
  --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$image" >/dev/null
echo "base image: $image imported"
