"""The HTTP client behind `kodewar submit`, `status` and `workers`.

Transport and API errors are translated here, where they enter, into ClientError with the exit status
the CLI promises: 2 when the API refused the request (4xx: the caller must change something), 3 when it
cannot be reached, answers 5xx or anything but JSON (the infrastructure is at fault).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import requests

from kodewar.cli import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from kodewar.render import pending_text, result_text, workers_text

DEFAULT_URL = "http://127.0.0.1:8000"
POLL_WAIT_S = 2.0  # one long-poll; short so In Queue -> Processing is reported while it happens
CONNECT_TIMEOUT_S = 5.0
READ_SLACK_S = 15.0  # HTTP read timeout beyond the wait the server was asked for
DEFAULT_GIVE_UP_S = 600.0  # how long `submit` and `status --wait` wait for a verdict
FINISHED_FROM_ID = 3  # status ids 1 (In Queue) and 2 (Processing) are the only unfinished ones


class ClientError(Exception):
    """A failure to report as one line, with the exit status the CLI returns for it."""

    exit_code = EXIT_UNAVAILABLE


class ApiUnavailable(ClientError):
    """Unreachable, timed out, 5xx, or not a KodeWar API (exit 3)."""


class ApiRefused(ClientError):
    """A 4xx answer: the request itself is wrong (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, status_code: int, code: str, message: str, field: str | None = None) -> None:
        self.status_code, self.code, self.message, self.field = status_code, code, message, field
        where = f" (field: {field})" if field else ""
        super().__init__(f"the API refused the request: {status_code} {code}: {message}{where}{_hint(status_code)}")


class ClientUsageError(ClientError):
    """Something missing on the command line, such as the token (exit 2)."""

    exit_code = EXIT_USAGE


def _hint(status_code: int) -> str:
    if status_code == 401:
        return "; check --token or KODEWAR_TOKEN (`kodewar up` prints one, `kodewar token --sub NAME` makes one)"
    if status_code == 403:
        return "; the token lacks the scope (make one with `kodewar token --sub NAME --scope submit,read`)"
    return ""


def resolve_url(given: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (given or env.get("KODEWAR_URL") or DEFAULT_URL).rstrip("/")


def resolve_token(given: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    token = (given or env.get("KODEWAR_TOKEN") or "").strip()
    if not token:
        raise ClientUsageError(
            "no API token: pass --token TOKEN or set KODEWAR_TOKEN "
            "(`kodewar up` prints one; `kodewar token --sub NAME` makes one on the API host)"
        )
    return token


class ApiClient:
    """One KodeWar API: bearer-token requests whose failures become ClientError."""

    def __init__(self, url: str, token: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = "Bearer " + token

    def call(self, method: str, path: str, wait_s: float = 0.0, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            response = self.session.request(
                method, self.url + path, timeout=(CONNECT_TIMEOUT_S, wait_s + READ_SLACK_S), **kwargs
            )
        except requests.ConnectionError as exc:
            raise ApiUnavailable(f"cannot reach the KodeWar API at {self.url}: is it running? (`kodewar up`)") from exc
        except requests.Timeout as exc:
            raise ApiUnavailable(f"the KodeWar API at {self.url} did not answer in time") from exc
        except requests.RequestException as exc:
            raise ApiUnavailable(f"request to {self.url} failed: {exc}") from exc
        body = _json_body(response)
        if response.status_code >= 500:
            detail = body.get("message") if body else response.reason
            raise ApiUnavailable(f"the KodeWar API at {self.url} failed: {response.status_code} {detail}")
        if response.status_code >= 400:
            if body is None:
                raise ApiUnavailable(
                    f"{self.url}{path} answered {response.status_code} without a JSON error: is it a KodeWar API?"
                )
            raise ApiRefused(
                response.status_code, str(body.get("error", "error")), str(body.get("message", "")), body.get("field")
            )
        if body is None:
            raise ApiUnavailable(f"{self.url}{path} did not answer with JSON: is it a KodeWar API?")
        return response.status_code, body

    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/api/v1/submissions", json=dict(body))[1]

    def submission(self, submission_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        params = {"wait": f"{wait_s:g}"} if wait_s > 0 else None
        return self.call("GET", f"/api/v1/submissions/{submission_id}", wait_s=wait_s, params=params)[1]

    def workers(self) -> dict[str, Any]:
        return self.call("GET", "/api/v1/workers")[1]


def _json_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def finished(view: Mapping[str, Any]) -> bool:
    return int(view.get("status", {}).get("id", 0)) >= FINISHED_FROM_ID


def wait_for_result(
    client: ApiClient,
    view: dict[str, Any],
    progress: Callable[[str], None],
    give_up_s: float = DEFAULT_GIVE_UP_S,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Long-poll until the submission is finished, reporting each status change; ApiUnavailable past give_up_s."""
    started = clock()
    seen = ""
    while True:
        description = str(view.get("status", {}).get("description", "?"))
        if description != seen:
            progress(f"{description} ({clock() - started:.1f} s)")
            seen = description
        if finished(view):
            return view
        left = give_up_s - (clock() - started)
        if left <= 0:
            raise ApiUnavailable(
                f"submission {view.get('submission_id')} is still {description} after {give_up_s:g} s "
                "(are workers running? `kodewar workers`); check later with `kodewar status ID`"
            )
        view = client.submission(str(view["submission_id"]), wait_s=max(0.1, min(POLL_WAIT_S, left)))


def _show(view: Mapping[str, Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps(view, indent=2), file=out)
    elif finished(view):
        print(result_text(view), file=out)
    else:
        print(pending_text(view), file=out)


def _progress(err: TextIO) -> Callable[[str], None]:
    return lambda line: print(f"  {line}", file=err, flush=True)


def _guarded(action: Callable[[], int], err: TextIO) -> int:
    try:
        return action()
    except ClientError as exc:
        print(f"kodewar: {exc}", file=err)
        return exc.exit_code


def _streams(out: TextIO | None, err: TextIO | None) -> tuple[TextIO, TextIO]:
    """The caller's streams, else sys.stdout/stderr as they are now (tests replace them)."""
    return out or sys.stdout, err or sys.stderr


def submit(args: Any, body: Mapping[str, Any], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`kodewar submit`: exit 0 whatever the verdict once there is one."""
    out, err = _streams(out, err)

    def action() -> int:
        client = ApiClient(resolve_url(args.url), resolve_token(args.token))
        view = client.submit(body)
        submission_id = view.get("submission_id")
        print(f"submission {submission_id}", file=err, flush=True)
        try:
            view = wait_for_result(client, view, _progress(err), args.timeout)
        except KeyboardInterrupt:
            print(f"\nkodewar: stopped waiting; it still runs: kodewar status {submission_id} --wait", file=err)
            raise
        _show(view, args.json, out)
        return EXIT_OK

    return _guarded(action, err)


def status(args: Any, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`kodewar status ID [--wait]`: the current state, or (with --wait) the verdict."""
    out, err = _streams(out, err)

    def action() -> int:
        client = ApiClient(resolve_url(args.url), resolve_token(args.token))
        view = client.submission(args.submission_id)
        if args.wait:
            view = wait_for_result(client, view, _progress(err), args.timeout)
        _show(view, args.json, out)
        return EXIT_OK

    return _guarded(action, err)


def workers(args: Any, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`kodewar workers`: the live workers from their heartbeats."""
    out, err = _streams(out, err)

    def action() -> int:
        payload = ApiClient(resolve_url(args.url), resolve_token(args.token)).workers()
        if args.json:
            print(json.dumps(payload, indent=2), file=out)
        else:
            print(workers_text(payload, time.time()), file=out)
        return EXIT_OK

    return _guarded(action, err)
