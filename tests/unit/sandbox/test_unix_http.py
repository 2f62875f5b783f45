"""The unix-socket HTTP client against a real unix-socket server run by the test, answering scripted bytes."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox.podman_api import ImageMissing, PodmanAPI, SandboxUnavailable
from sandbox.unix_http import MAX_HEAD_BYTES, HTTPError, UnixHTTPClient

PIECE_PAUSE_S = 0.01  # between scripted pieces, so the client sees them in separate reads

Answer = Callable[[bytes, socket.socket], None]  # (the request received, the connection) -> writes an answer


def pieces(*parts: bytes) -> Answer:
    """An answer sent as these pieces, one write each, then the connection closed."""

    def send(_request: bytes, conn: socket.socket) -> None:
        for part in parts:
            conn.sendall(part)
            time.sleep(PIECE_PAUSE_S)

    return send


class ScriptedServer:
    """Accepts connections on a unix socket; each gets the current answer after its request was read whole."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.answer: Answer = pieces(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.requests: list[bytes] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = bytearray()
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            head, _, body = bytes(request).partition(b"\r\n\r\n")
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    while len(body) < int(value):
                        body += conn.recv(4096)
            self.requests.append(head + b"\r\n\r\n" + body)
            with contextlib.suppress(OSError):  # the client gave up first (timeout tests)
                self.answer(self.requests[-1], conn)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def socket_dir() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="kw-http-")  # short: unix socket paths are limited to 107 bytes
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def server(socket_dir: str) -> Iterator[ScriptedServer]:
    served = ScriptedServer(str(Path(socket_dir) / "s.sock"))
    yield served
    served.close()


@pytest.fixture
def client(server: ScriptedServer) -> UnixHTTPClient:
    return UnixHTTPClient(server.path, timeout_s=2.0)


def test_content_length_body_and_headers(server: ScriptedServer, client: UnixHTTPClient) -> None:
    server.answer = pieces(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 12\r\n\r\n",
        b'{"Id": ',
        b'"ab"}',
    )
    response = client.request("POST", "/v4.0.0/libpod/containers/create", b'{"image": "x"}')
    assert response.status == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "1, 2"
    assert response.json() == {"Id": "ab"}
    request = server.requests[0]
    assert request.startswith(b"POST /v4.0.0/libpod/containers/create HTTP/1.1\r\n")
    assert b"\r\nConnection: close\r\n" in request and b"\r\nContent-Length: 14\r\n" in request
    assert request.endswith(b'\r\n\r\n{"image": "x"}')


def test_chunked_body_split_anywhere_with_extensions_and_trailers(
    server: ScriptedServer, client: UnixHTTPClient
) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw = head + b"5;ext=1\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-T: 1\r\n\r\n"
    server.answer = pieces(*(raw[i : i + 7] for i in range(0, len(raw), 7)))
    response = client.request("GET", "/info")
    assert (response.status, response.body) == (200, b"hello, chunked!")
    assert response.headers["transfer-encoding"] == "chunked"


def test_body_without_length_runs_to_the_close(server: ScriptedServer, client: UnixHTTPClient) -> None:
    server.answer = pieces(b"HTTP/1.0 200 OK\r\n\r\n", b"all of ", b"it")
    assert client.request("GET", "/x").body == b"all of it"


def test_no_body_for_204_and_head_even_with_a_length(server: ScriptedServer, client: UnixHTTPClient) -> None:
    server.answer = pieces(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
    assert (client.request("GET", "/images/x/exists").status, client.request("HEAD", "/x").body) == (204, b"")


def test_interim_100_continue_is_skipped(server: ScriptedServer, client: UnixHTTPClient) -> None:
    server.answer = pieces(b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
    response = client.request("DELETE", "/containers/x?force=true")
    assert (response.status, response.text) == (404, "nope")


def test_get_and_delete_carry_no_content_length_but_a_bodyless_post_does(
    server: ScriptedServer, client: UnixHTTPClient
) -> None:
    client.request("GET", "/a")
    client.request("DELETE", "/b")
    client.request("POST", "/c/start")
    get, delete, post = server.requests
    assert b"content-length" not in get.lower() and b"content-length" not in delete.lower()
    assert b"\r\nContent-Length: 0\r\n" in post


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "short of the body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "not followed by CRLF"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "closed"),
        (b"HTTP/1.1 200 OK\r\n", "closed in the middle"),
        (b"", "closed in the middle"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * (MAX_HEAD_BYTES + 10), "within"),
    ],
)
def test_malformed_or_cut_answers_are_http_errors(
    server: ScriptedServer, client: UnixHTTPClient, answer: bytes, message: str
) -> None:
    server.answer = pieces(answer)
    with pytest.raises(HTTPError, match=message):
        client.request("GET", "/x")


def test_the_timeout_bounds_the_whole_answer(server: ScriptedServer) -> None:
    trickle = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", *([b"x"] * 100)]
    server.answer = pieces(*trickle)  # every piece in time, the whole not
    client = UnixHTTPClient(server.path, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(HTTPError, match="timed out"):
        client.request("GET", "/slow")
    assert time.monotonic() - started < 0.3 + 0.5


def test_no_server_is_an_http_error(socket_dir: str) -> None:
    with pytest.raises(HTTPError, match="No such file"):
        UnixHTTPClient(str(Path(socket_dir) / "absent.sock"), 1.0).request("GET", "/_ping")


def test_line_breaks_in_the_request_are_refused_before_sending(server: ScriptedServer, client: UnixHTTPClient) -> None:
    with pytest.raises(ValueError, match="line break"):
        client.request("GET", "/x HTTP/1.1\r\nX-Injected: 1")
    with pytest.raises(ValueError, match="line break"):
        client.request("GET", "/x", headers={"X": "a\nb"})
    assert server.requests == []


def test_one_client_serves_many_threads(server: ScriptedServer, client: UnixHTTPClient) -> None:
    def echo(request: bytes, conn: socket.socket) -> None:
        target = request.split(b" ")[1]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(target), target))

    server.answer = echo
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda i: client.request("GET", f"/n/{i}").body, range(64)))
    assert bodies == [f"/n/{i}".encode() for i in range(64)]


def test_upgrade_hands_over_the_socket_with_what_came_after_the_head(
    server: ScriptedServer, client: UnixHTTPClient
) -> None:
    def upgrade(_request: bytes, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly")
        conn.sendall(conn.recv(100).upper())

    server.answer = upgrade
    upgraded = client.upgrade("POST", "/containers/x/attach?stream=true", "tcp")
    with upgraded.sock:
        assert (upgraded.status, upgraded.headers["upgrade"]) == (101, "tcp")
        received = upgraded.pending
        upgraded.sock.sendall(b"ping")
        while len(received) < len(b"earlyPING"):
            received += upgraded.sock.recv(100)
    assert received == b"earlyPING"
    request = server.requests[0]
    assert b"\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" in request and b"\r\nContent-Length: 0\r\n" in request


# -- PodmanAPI's side of the transport: the libpod prefix, and every failure as SandboxUnavailable


def test_podman_api_speaks_libpod_and_translates_transport_failures(server: ScriptedServer) -> None:
    api = PodmanAPI(f"unix://{server.path}", timeout_s=1.0)
    server.answer = pieces(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n")
    assert api.sandbox_containers() == {}
    target = server.requests[-1].split(b" ")[1].decode()
    assert target.startswith("/v4.0.0/libpod/containers/json?all=true&filters=")
    server.answer = pieces(b"HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\nnot json")
    with pytest.raises(SandboxUnavailable, match="other than JSON"):
        api.create({"image": "x"})
    assert json.loads(server.requests[-1].partition(b"\r\n\r\n")[2]) == {"image": "x"}
    server.answer = pieces(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(ImageMissing):
        api.create({"image": "x"})
    server.answer = pieces(b"garbage\r\n\r\n")
    with pytest.raises(SandboxUnavailable, match="ping failed"):
        api.ping()
    server.close()
    with pytest.raises(SandboxUnavailable, match="attaching to the sandbox failed"):
        PodmanAPI(f"unix://{server.path}x", timeout_s=1.0).attach("abc")
