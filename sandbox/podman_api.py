"""Transport to the worker user's `podman system service`; podman and socket errors end here.

The libpod REST API over the service's unix socket through sandbox.unix_http (stdlib only: podman-py's
imports alone would double a `kodewar run`); `attach` upgrades a connection to the hijacked stdin/stdout
stream, which podman-py has no call for.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse

from sandbox.spec import SANDBOX_LABEL
from sandbox.unix_http import HTTPError, Response, UnixHTTPClient

LIBPOD_API = "/v4.0.0/libpod"  # every call here is served under it from podman 4.0 on
FRAME_HEADER = struct.Struct(">BxxxL")  # stream id, 3 pad bytes, payload length
STDOUT_STREAM, STDERR_STREAM = 1, 2


class SandboxUnavailable(RuntimeError):
    """The container engine cannot run sandboxes right now (infrastructure, not the user's code)."""


class ImageMissing(SandboxUnavailable):
    """The language image is not built on this host."""


class ResultTooLarge(SandboxUnavailable):
    """The harness wrote more than the runner agreed to read."""


def socket_path(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("unix", "http+unix"):
        raise SandboxUnavailable(f"podman URL must be unix:///path/to/podman.sock, got {url!r}")
    return unquote(parsed.path or parsed.netloc)


class AttachedStream:
    """stdin/stdout of a container through the attach socket, with our own deadline on every read."""

    def __init__(self, sock: socket.socket, pending: bytes = b"") -> None:
        self._sock = sock
        self._buffer = bytearray(pending)  # bytes that came in with the attach answer

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise SandboxUnavailable(f"writing to the sandbox failed: {exc}") from exc

    def frames(self, deadline: float, max_bytes: int) -> Iterator[tuple[int, bytes]]:
        """Yield (stream, payload) until the container closes the stream; TimeoutError past the deadline."""
        total = 0
        while True:
            while len(self._buffer) >= FRAME_HEADER.size:
                stream, size = FRAME_HEADER.unpack_from(self._buffer)
                if len(self._buffer) < FRAME_HEADER.size + size:
                    break
                payload = bytes(self._buffer[FRAME_HEADER.size : FRAME_HEADER.size + size])
                del self._buffer[: FRAME_HEADER.size + size]
                yield stream, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("sandbox deadline passed")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                raise
            except OSError as exc:
                raise SandboxUnavailable(f"reading from the sandbox failed: {exc}") from exc
            if not chunk:
                return
            total += len(chunk)
            if total > max_bytes:
                raise ResultTooLarge(f"sandbox wrote more than {max_bytes} bytes")
            self._buffer += chunk

    def quiet(self) -> bool:
        """True while the container has written nothing and kept the stream open: a warm harness waiting
        for its job. Anything readable (a report, an error, EOF) means it is no longer fit for a job."""
        if self._buffer:
            return False
        if self._sock.fileno() < 0:  # closed
            return False
        poller = select.poll()  # not select.select: a busy worker may hold fds above FD_SETSIZE
        poller.register(self._sock, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)

    def close(self) -> None:
        self._sock.close()


class PodmanAPI:
    """The libpod calls the sandbox needs; one connection per call, so one instance serves many threads."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url
        self._path = socket_path(url)
        self._timeout_s = timeout_s
        self._http = UnixHTTPClient(self._path, timeout_s)

    def _call(
        self, what: str, method: str, path: str, params: dict[str, str] | None = None, body: object = None
    ) -> Response:
        """One libpod request (`body`, when given, sent as JSON); any transport failure is SandboxUnavailable."""
        target = LIBPOD_API + path + ("?" + urlencode(params) if params else "")
        payload, headers = b"", {}
        if body is not None:
            payload, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        try:
            return self._http.request(method, target, payload, headers)
        except HTTPError as exc:
            raise SandboxUnavailable(f"podman service at {self.url}: {what} failed: {exc}") from exc

    def _json(self, what: str, response: Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise SandboxUnavailable(f"podman {what} answered with something other than JSON: {exc}") from exc

    def ping(self) -> None:
        response = self._call("ping", "GET", "/_ping")
        if response.status != 200:
            raise SandboxUnavailable(f"podman service at {self.url} answered ping with {response.status}")

    def info(self) -> dict[str, Any]:
        response = self._call("info", "GET", "/info")
        if response.status != 200:
            raise SandboxUnavailable(f"podman info failed: {response.text[:200]}")
        return self._json("info", response)  # type: ignore[no-any-return]

    def image_exists(self, ref: str) -> bool:
        response = self._call("image lookup", "GET", f"/images/{quote(ref, safe='')}/exists")
        return response.status == 204

    def create(self, spec: dict[str, object]) -> str:
        response = self._call("create", "POST", "/containers/create", body=spec)
        if response.status == 404 or "image not known" in response.text:
            raise ImageMissing(f"image {spec.get('image')} is not built here: run `kodewar images build`")
        if response.status != 201:
            raise SandboxUnavailable(f"podman create failed ({response.status}): {response.text[:300]}")
        return str(self._json("create", response)["Id"])

    def attach(self, container_id: str) -> AttachedStream:
        target = f"{LIBPOD_API}/containers/{container_id}/attach?stdin=true&stdout=true&stderr=true&stream=true"
        try:
            upgraded = self._http.upgrade("POST", target, "tcp")
        except HTTPError as exc:
            raise SandboxUnavailable(f"attaching to the sandbox failed: {exc}") from exc
        if upgraded.status not in (101, 200):
            upgraded.sock.close()
            raise SandboxUnavailable(f"podman refused to attach: {upgraded.status}")
        upgraded.sock.settimeout(self._timeout_s)
        return AttachedStream(upgraded.sock, upgraded.pending)

    def start(self, container_id: str) -> None:
        response = self._call("start", "POST", f"/containers/{container_id}/start")
        if response.status not in (204, 304):
            raise SandboxUnavailable(f"podman start failed ({response.status}): {response.text[:300]}")

    def remove(self, container_id: str) -> None:
        """Force-remove: kills whatever still runs. A container already gone is fine."""
        response = self._call("remove", "DELETE", f"/containers/{container_id}", params={"force": "true", "v": "true"})
        if response.status not in (200, 204, 404):
            raise SandboxUnavailable(f"podman remove failed ({response.status}): {response.text[:300]}")

    def sandbox_containers(self) -> dict[str, dict[str, str]]:
        """Every sandbox container of this podman service: id -> labels (for sweeps and leak checks)."""
        filters = json.dumps({"label": [f"{SANDBOX_LABEL}=1"]})
        response = self._call("list", "GET", "/containers/json", params={"all": "true", "filters": filters})
        if response.status != 200:
            raise SandboxUnavailable(f"podman list failed: {response.text[:200]}")
        return {str(c["Id"]): dict(c.get("Labels") or {}) for c in self._json("list", response)}
