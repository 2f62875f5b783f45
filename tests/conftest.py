"""Shared fixtures. Integration tests need the real podman service; they fail (not skip) without it,
so a CI machine that lost podman cannot pass by running nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kodewar.settings import Settings, load_settings
from sandbox.languages import Language, load_registry
from sandbox.podman_api import AttachedStream, PodmanAPI, SandboxUnavailable
from sandbox.result import Result
from sandbox.runner import Runner
from sandbox.submission import Submission, build_submission


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def registry() -> dict[str, Language]:
    return load_registry()


class RecordingAPI(PodmanAPI):
    """The real podman API, remembering which containers it made and the jobs it sent (for leak checks)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.created: list[str] = []
        self.jobs: list[dict[str, Any]] = []

    def create(self, spec: dict[str, object]) -> str:
        container_id = super().create(spec)
        self.created.append(container_id)
        return container_id

    def attach(self, container_id: str) -> AttachedStream:
        stream = super().attach(container_id)
        send = stream.send

        def recording_send(data: bytes) -> None:
            self.jobs.append(json.loads(data))
            send(data)

        stream.send = recording_send  # type: ignore[method-assign]
        return stream

    def container_exists(self, container_id: str) -> bool:
        response = self._call("inspect", "GET", f"/containers/{container_id}/exists")
        return response.status == 204


def host_uid(settings: Settings, container_uid: int) -> int:
    """The host uid a container uid maps to under the worker's /etc/subuid range (rootless podman)."""
    for line in Path("/etc/subuid").read_text().splitlines():
        user, start, _count = line.split(":")
        if user == settings.worker_user:
            return int(start) + container_uid - 1
    raise LookupError(f"{settings.worker_user} has no /etc/subuid entry")


def processes_of(uid: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        if any(line.startswith("Uid:") and int(line.split()[1]) == uid for line in lines):
            pids.append(int(status.parent.name))
    return pids


@pytest.fixture(scope="session")
def podman_api(settings: Settings) -> RecordingAPI:
    api = RecordingAPI(settings.sandbox.podman_url)
    try:
        api.ping()
    except SandboxUnavailable as exc:
        pytest.fail(f"integration tests need the podman service (make install): {exc}")
    return api


@pytest.fixture(scope="session")
def runner(settings: Settings, podman_api: RecordingAPI) -> Runner:
    return Runner(settings.sandbox, podman_api)


RunFn = Callable[..., Result]


@pytest.fixture
def run(settings: Settings, registry: dict[str, Language], runner: Runner, podman_api: RecordingAPI) -> Iterator[RunFn]:
    """run(language, code, tests=[...] | stdin=..., limits={...}, using=Runner, **body) -> Result, checking
    nothing is left. `using` is a Runner on the same podman_api (another configuration)."""

    def _run(
        language: str, code: str, tests: list[dict[str, Any]] | None = None, using: Runner | None = None, **body: Any
    ) -> Result:
        raw = {"language": language, "code": code, **body}
        if tests is not None:
            raw["test_cases"] = tests
        submission: Submission = build_submission(raw, registry, settings.sandbox.policy, settings.sandbox.caps)
        before = len(podman_api.created)
        result = (using or runner).run(submission)
        made.extend(podman_api.created[before:])
        for job in podman_api.jobs[before:]:
            uids.append(host_uid(settings, int(job["uid"])))
        return result

    made: list[str] = []
    uids: list[int] = []
    yield _run
    leaked = [c for c in made if podman_api.container_exists(c)]
    assert not leaked, f"sandbox containers left behind: {leaked}"
    stray = {uid: processes_of(uid) for uid in uids if processes_of(uid)}
    assert not stray, f"sandbox processes left behind (host uid: pids): {stray}"
