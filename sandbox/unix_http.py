"""HTTP/1.1 over a unix socket with the standard library's `socket` alone: the podman service's transport.

Not podman-py (requests, urllib3, rich) nor http.client (email, ssl): their imports cost 25-160 ms, paid in
full by every short-lived `kodewar run`. The podman calls are small request/answer exchanges, so each one
gets its own connection (`Connection: close`): nothing is shared between the threads that share a client,
and a unix-socket connect costs microseconds. Every failure leaves as HTTPError.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_HEAD_BYTES = 64 * 1024  # status line and headers, and any one chunk-size or trailer line
MAX_BODY_BYTES = 64 * 1024 * 1024
RECV_BYTES = 64 * 1024
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})  # no Content-Length unless a body is sent


class HTTPError(Exception):
    """The exchange failed: no connection, the deadline passed, or the answer is not well-formed HTTP/1.x."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


@dataclass
class Upgraded:
    """A connection the server switched to another protocol: its answer head, the socket (now the caller's
    to use and close) and whatever arrived after the head in the same read."""

    status: int
    headers: Mapping[str, str]
    sock: socket.socket
    pending: bytes


class _Reader:
    """Buffered reads from one socket against one deadline for the whole answer."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = bytearray()

    def _fill(self) -> bool:
        """Read more; False at end of stream. TimeoutError past the deadline."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(remaining)
        chunk = self._sock.recv(RECV_BYTES)
        self._buffer += chunk
        return bool(chunk)

    def until(self, marker: bytes, limit: int) -> bytes:
        """Everything up to and including `marker`, which must come within `limit` bytes."""
        start = 0
        while (index := self._buffer.find(marker, start)) < 0:
            if len(self._buffer) > limit:
                raise HTTPError(f"no {marker!r} within {limit} bytes")
            start = max(0, len(self._buffer) - len(marker) + 1)
            if not self._fill():
                raise HTTPError("connection closed in the middle of the answer")
        if index > limit:
            raise HTTPError(f"no {marker!r} within {limit} bytes")
        return self.take(index + len(marker))

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                raise HTTPError(f"connection closed {size - len(self._buffer)} bytes short of the body")
        return self.take(size)

    def to_end(self, limit: int) -> bytes:
        while self._fill():
            if len(self._buffer) > limit:
                raise HTTPError(f"body larger than {limit} bytes")
        return self.rest()

    def rest(self) -> bytes:
        """What has been received but not yet read."""
        return self.take(len(self._buffer))

    def take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and headers from a head ending in an empty line."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3) or rest[3:4] not in ("", " "):
        raise HTTPError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HTTPError(f"malformed header line: {line[:100]!r}")
        name, value = name.lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(code), headers


def _read_head(reader: _Reader) -> tuple[int, dict[str, str]]:
    while True:
        status, headers = parse_head(reader.until(b"\r\n\r\n", MAX_HEAD_BYTES))
        if not (100 <= status < 200) or status == 101:  # interim answers (100 Continue) come before the real one
            return status, headers


def _read_chunked(reader: _Reader) -> bytes:
    body = bytearray()
    while True:
        size_field = reader.until(b"\r\n", MAX_HEAD_BYTES)[:-2].split(b";", 1)[0].strip()
        if not size_field or not HEX_DIGITS.issuperset(size_field):
            raise HTTPError(f"malformed chunk size {size_field[:20]!r}")
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise HTTPError(f"body larger than {MAX_BODY_BYTES} bytes")
        body += reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise HTTPError("chunk not followed by CRLF")
    while reader.until(b"\r\n", MAX_HEAD_BYTES) != b"\r\n":  # trailer fields, ignored
        pass
    return bytes(body)


def _read_body(reader: _Reader, method: str, status: int, headers: Mapping[str, str]) -> bytes:
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(reader)
    length = headers.get("content-length")
    if length is None:
        return reader.to_end(MAX_BODY_BYTES)  # delimited by the close we asked for
    if not length.isdigit():
        raise HTTPError(f"malformed Content-Length {length[:40]!r}")
    if int(length) > MAX_BODY_BYTES:
        raise HTTPError(f"body of {length} bytes is larger than {MAX_BODY_BYTES}")
    return reader.exactly(int(length))


class UnixHTTPClient:
    """Requests to an HTTP server on a unix socket; safe to share between threads (no shared state)."""

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s  # the whole exchange: connect, send, and the complete answer

    def request(
        self, method: str, target: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        deadline = time.monotonic() + self.timeout_s
        try:
            with self._send(method, target, body, {"Connection": "close", **(headers or {})}) as sock:
                reader = _Reader(sock, deadline)
                status, answer_headers = _read_head(reader)
                return Response(status, answer_headers, _read_body(reader, method, status, answer_headers))
        except OSError as exc:  # TimeoutError included
            raise HTTPError(f"{method} {target}: {str(exc) or type(exc).__name__}") from exc

    def upgrade(self, method: str, target: str, protocol: str) -> Upgraded:
        """Send a request asking to switch the connection to `protocol`; the caller judges the status
        (servers differ: 101, or 200 with the raw stream following) and owns the socket from here."""
        deadline = time.monotonic() + self.timeout_s
        try:
            sock = self._send(method, target, b"", {"Connection": "Upgrade", "Upgrade": protocol})
            try:
                reader = _Reader(sock, deadline)
                status, headers = _read_head(reader)
            except BaseException:
                sock.close()
                raise
        except OSError as exc:
            raise HTTPError(f"{method} {target}: {str(exc) or type(exc).__name__}") from exc
        return Upgraded(status, headers, sock, reader.rest())

    def _send(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> socket.socket:
        fields = {"Host": "localhost", **headers}
        if body or method not in BODYLESS_METHODS:
            fields["Content-Length"] = str(len(body))
        if any(c in part for part in (method, target, *fields, *fields.values()) for c in "\r\n"):
            raise ValueError(f"line break in a request line or header: {method} {target!r}")  # a caller's bug
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout_s)
            sock.connect(self.path)
            sock.sendall(head.encode("latin-1") + body)
        except BaseException:
            sock.close()
            raise
        return sock
