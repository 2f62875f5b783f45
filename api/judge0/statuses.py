"""KodeWar's statuses in Judge0's 1-14, because Judge0 clients parse ids into fixed enums.

The official SDK raises on any other id, so by default a verdict Judge0 does not have becomes the
status Judge0 itself would have reported for that run, and `message` names the real verdict:

- 15 Memory Limit Exceeded: Judge0 (isolate with a cgroup memory limit) sees the process killed
  and reports 12 Runtime Error (Other);
- 16 Output Limit Exceeded: Judge0's stdout is a file under RLIMIT_FSIZE, so it reports
  8 Runtime Error (SIGXFSZ);
- 17 Skipped (a test that never ran) cannot be a submission's status; if it were, 13.

A client that knows KodeWar's ids asks for them with `?extended_statuses=true`.
"""

from __future__ import annotations

from sandbox.statuses import Status

EXTENDED_PARAM = "extended_statuses"
JUDGE0_STATUSES = tuple(s for s in Status if s <= Status.EXEC_FORMAT_ERROR)
NEAREST: dict[Status, Status] = {
    Status.MEMORY_LIMIT_EXCEEDED: Status.RUNTIME_ERROR_OTHER,
    Status.OUTPUT_LIMIT_EXCEEDED: Status.RUNTIME_ERROR_SIGXFSZ,
    Status.SKIPPED: Status.INTERNAL_ERROR,
}


def shown(status: Status, extended: bool) -> Status:
    """The status a Judge0 client gets."""
    return status if extended else NEAREST.get(status, status)


def status_dict(status: Status, extended: bool) -> dict[str, object]:
    return shown(status, extended).as_dict()


def message(status: Status, own: str | None, extended: bool) -> str | None:
    """`message`: a mapped status names the real verdict first, so a person reading it knows."""
    if extended or status not in NEAREST:
        return own
    return f"{status.description}: {own}" if own else status.description


def listing(extended: bool) -> list[dict[str, object]]:
    """GET /statuses."""
    return [s.as_dict() for s in (Status if extended else JUDGE0_STATUSES)]
