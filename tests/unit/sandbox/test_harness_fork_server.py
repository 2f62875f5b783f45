"""The harness's side of the fork server protocol, against a real socket pair (the harness is a
standalone script: loaded from its file, as the container runs it)."""

from __future__ import annotations

import importlib.util
import select
import socket
from types import ModuleType

from sandbox.spec import HARNESS_PATH


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kodewar_harness", HARNESS_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reading_pid_leaves_a_fast_exit_for_the_exit_fd() -> None:
    """A test that ends at once: "pid" and "exit" arrive in one read. The exit line must stay in the
    socket, or its fd never turns readable and the stage waits for the wall limit."""
    harness = load_harness()
    server = harness.ForkServer.__new__(harness.ForkServer)  # no process: only the control channel
    server.socket = socket
    server.control, peer = socket.socketpair()
    try:
        peer.sendall(b"pid 12\nexit 0 0.001000 9000\n")
        assert server._line() == ["pid", "12"]
        readable, _, _ = select.select([server.control], [], [], 0)
        assert readable, "the exit line was consumed with the pid line"
        assert server._line() == ["exit", "0", "0.001000", "9000"]
        peer.sendall(b"pid ")  # a line in two parts
        peer.sendall(b"13\n")
        assert server._line() == ["pid", "13"]
    finally:
        server.control.close()
        peer.close()
