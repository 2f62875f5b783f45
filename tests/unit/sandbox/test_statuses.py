import pytest

from sandbox.statuses import Status, overall


def test_judge0_numbering_is_kept() -> None:
    assert [s.value for s in Status][:14] == list(range(1, 15))
    assert Status.MEMORY_LIMIT_EXCEEDED.description == "Memory Limit Exceeded"
    assert Status.ACCEPTED.as_dict() == {"id": 3, "description": "Accepted"}


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ([Status.ACCEPTED, Status.WRONG_ANSWER], Status.WRONG_ANSWER),
        ([Status.WRONG_ANSWER, Status.RUNTIME_ERROR_NZEC], Status.RUNTIME_ERROR_NZEC),
        ([Status.RUNTIME_ERROR_SIGSEGV, Status.OUTPUT_LIMIT_EXCEEDED], Status.OUTPUT_LIMIT_EXCEEDED),
        ([Status.OUTPUT_LIMIT_EXCEEDED, Status.MEMORY_LIMIT_EXCEEDED], Status.MEMORY_LIMIT_EXCEEDED),
        ([Status.MEMORY_LIMIT_EXCEEDED, Status.TIME_LIMIT_EXCEEDED], Status.TIME_LIMIT_EXCEEDED),
        ([Status.TIME_LIMIT_EXCEEDED, Status.INTERNAL_ERROR], Status.INTERNAL_ERROR),
        ([Status.ACCEPTED, Status.SKIPPED], Status.ACCEPTED),
        ([Status.SKIPPED], Status.SKIPPED),
        ([], Status.ACCEPTED),
    ],
)
def test_overall_is_the_worst_by_priority(statuses: list[Status], worst: Status) -> None:
    assert overall(statuses) is worst
