"""Status ids: Judge0's numbering (1-14) so its clients map one to one, plus KodeWar's 15-17."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    IN_QUEUE = 1
    PROCESSING = 2
    ACCEPTED = 3
    WRONG_ANSWER = 4
    TIME_LIMIT_EXCEEDED = 5
    COMPILATION_ERROR = 6
    RUNTIME_ERROR_SIGSEGV = 7
    RUNTIME_ERROR_SIGXFSZ = 8
    RUNTIME_ERROR_SIGFPE = 9
    RUNTIME_ERROR_SIGABRT = 10
    RUNTIME_ERROR_NZEC = 11
    RUNTIME_ERROR_OTHER = 12
    INTERNAL_ERROR = 13
    EXEC_FORMAT_ERROR = 14
    MEMORY_LIMIT_EXCEEDED = 15
    OUTPUT_LIMIT_EXCEEDED = 16
    SKIPPED = 17

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]

    @property
    def finished(self) -> bool:
        return self not in (Status.IN_QUEUE, Status.PROCESSING)

    @property
    def is_runtime_error(self) -> bool:
        return self in RUNTIME_ERRORS

    def as_dict(self) -> dict[str, object]:
        return {"id": int(self), "description": self.description}


DESCRIPTIONS: dict[Status, str] = {
    Status.IN_QUEUE: "In Queue",
    Status.PROCESSING: "Processing",
    Status.ACCEPTED: "Accepted",
    Status.WRONG_ANSWER: "Wrong Answer",
    Status.TIME_LIMIT_EXCEEDED: "Time Limit Exceeded",
    Status.COMPILATION_ERROR: "Compilation Error",
    Status.RUNTIME_ERROR_SIGSEGV: "Runtime Error (SIGSEGV)",
    Status.RUNTIME_ERROR_SIGXFSZ: "Runtime Error (SIGXFSZ)",
    Status.RUNTIME_ERROR_SIGFPE: "Runtime Error (SIGFPE)",
    Status.RUNTIME_ERROR_SIGABRT: "Runtime Error (SIGABRT)",
    Status.RUNTIME_ERROR_NZEC: "Runtime Error (NZEC)",
    Status.RUNTIME_ERROR_OTHER: "Runtime Error (Other)",
    Status.INTERNAL_ERROR: "Internal Error",
    Status.EXEC_FORMAT_ERROR: "Exec Format Error",
    Status.MEMORY_LIMIT_EXCEEDED: "Memory Limit Exceeded",
    Status.OUTPUT_LIMIT_EXCEEDED: "Output Limit Exceeded",
    Status.SKIPPED: "Skipped",
}

RUNTIME_ERRORS = frozenset(
    {
        Status.RUNTIME_ERROR_SIGSEGV,
        Status.RUNTIME_ERROR_SIGXFSZ,
        Status.RUNTIME_ERROR_SIGFPE,
        Status.RUNTIME_ERROR_SIGABRT,
        Status.RUNTIME_ERROR_NZEC,
        Status.RUNTIME_ERROR_OTHER,
        Status.EXEC_FORMAT_ERROR,
    }
)

# Worst first: the overall verdict of a submission is its worst test by this order (DESIGN.md).
_SEVERITY: list[frozenset[Status]] = [
    frozenset({Status.INTERNAL_ERROR}),
    frozenset({Status.COMPILATION_ERROR}),
    frozenset({Status.TIME_LIMIT_EXCEEDED}),
    frozenset({Status.MEMORY_LIMIT_EXCEEDED}),
    frozenset({Status.OUTPUT_LIMIT_EXCEEDED}),
    RUNTIME_ERRORS,
    frozenset({Status.WRONG_ANSWER}),
    frozenset({Status.ACCEPTED}),
    frozenset({Status.SKIPPED}),
]


def severity(status: Status) -> int:
    """Rank where 0 is the worst; statuses of one class keep their relative order by id."""
    for rank, group in enumerate(_SEVERITY):
        if status in group:
            return rank
    return len(_SEVERITY)


def overall(statuses: list[Status]) -> Status:
    """The worst of the per-test statuses; a submission with no tests ran nothing wrong."""
    if not statuses:
        return Status.ACCEPTED
    ranked = [s for s in statuses if s is not Status.SKIPPED] or statuses
    return min(ranked, key=lambda s: (severity(s), s.value))
