import pytest

from sandbox.languages import load_registry
from sandbox.limits import LimitPolicy
from sandbox.submission import InvalidSubmission, SizeCaps, build_submission

REGISTRY = load_registry()
SEED = {"code": "def solution(x): return x * 2", "language": "python", "test_cases": [{"input": "2", "expected": "4"}]}


def build(body: dict[str, object], caps: SizeCaps | None = None):  # type: ignore[no-untyped-def]
    return build_submission(body, REGISTRY, LimitPolicy(), caps or SizeCaps())


def test_the_seed_example_is_function_mode_with_the_value_checker() -> None:
    submission = build(SEED)
    assert submission.mode == "function"
    assert submission.checker.kind == "value"
    assert submission.tests[0].input == "2" and submission.tests[0].expected == "4"


def test_stdin_without_tests_is_one_unchecked_run() -> None:
    submission = build({"code": "print(input())", "language": "python", "stdin": "hi"})
    assert submission.mode == "stdio"
    assert [(t.input, t.expected) for t in submission.tests] == [("hi", None)]


def test_numbers_are_accepted_as_expected_text() -> None:
    submission = build({**SEED, "test_cases": [{"input": 2, "expected": 4}]})
    assert submission.tests[0].expected == "4"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "cobol"}, "language"),
        ({"language": None}, "language"),
        ({"code": ""}, "code"),
        ({"code": "   \n"}, "code"),
        ({"code": 5}, "code"),
        ({"code": "x" * (64 * 1024 + 1)}, "code"),
        ({"test_cases": []}, "test_cases"),
        ({"test_cases": "nope"}, "test_cases"),
        ({"test_cases": [{"input": "1"}] * 65}, "test_cases"),
        ({"test_cases": [{"input": ["1"]}]}, "test_cases[0].input"),
        ({"test_cases": [{"input": "1", "bogus": 1}]}, "test_cases[0]"),
        ({"limits": {"memory_mb": 4096}}, "limits.memory_mb"),
        ({"limits": [1]}, "limits"),
        ({"mode": "function", "language": "bash", "code": "echo"}, "mode"),
        ({"mode": "repl"}, "mode"),
        ({"checker": {"kind": "psychic"}}, "checker"),
        ({"function_name": "a b"}, "function_name"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSubmission) as info:
        build({**SEED, **change})
    assert info.value.field == field


def test_total_input_size_is_capped() -> None:
    caps = SizeCaps(max_total_input_bytes=10)
    with pytest.raises(InvalidSubmission, match="exceed"):
        build({**SEED, "test_cases": [{"input": "123456", "expected": "123456"}]}, caps)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "print(1)\ud800"}, "code"),
        ({"test_cases": [{"input": "\udfff", "expected": "1"}]}, "test_cases[0].input"),
        ({"limits": {"memory_mb": 10**400}}, "limits.memory_mb"),
        ({"checker": {"kind": "float", "abs_tol": 10**400}}, "checker"),
    ],
)
def test_unrepresentable_values_are_client_errors(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSubmission) as info:
        build({**SEED, **change})
    assert info.value.field == field
