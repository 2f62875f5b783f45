import pytest

from sandbox.limits import JUDGE0_DEFAULTS, LimitError, LimitPolicy


def test_missing_limits_take_the_defaults() -> None:
    assert LimitPolicy().resolve(None) == JUDGE0_DEFAULTS
    assert LimitPolicy().resolve({"memory_mb": None}) == JUDGE0_DEFAULTS


def test_a_request_may_lower_and_raise_within_the_maxima() -> None:
    limits = LimitPolicy().resolve({"cpu_time_s": 1, "memory_mb": 512})
    assert limits.cpu_time_s == 1.0 and isinstance(limits.cpu_time_s, float)
    assert limits.memory_mb == 512


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"memory_mb": 513}, "memory_mb"),
        ({"cpu_time_s": 15.5}, "cpu_time_s"),
        ({"cpu_time_s": 0}, "cpu_time_s"),
        ({"max_processes": 1.5}, "max_processes"),
        ({"memory_mb": "128"}, "memory_mb"),
        ({"memory_mb": True}, "memory_mb"),
        ({"wall_time_s": float("nan")}, "wall_time_s"),
        ({"gpu": 1}, "gpu"),
    ],
)
def test_bad_limits_name_the_field(request_: dict[str, object], field: str) -> None:
    with pytest.raises(LimitError) as info:
        LimitPolicy().resolve(request_)
    assert info.value.field == field
