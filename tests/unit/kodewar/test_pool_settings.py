"""Warm pool and consumer wake-up settings from the environment."""

import pytest

from kodewar.settings import SettingsError, load_settings


def test_the_pool_and_notified_consumers_are_on_by_default() -> None:
    settings = load_settings({})
    assert settings.sandbox.pool_enabled is True
    assert settings.sandbox.pool_min == ()  # every language may shrink to zero
    assert settings.queue.consumer_wakeup is True


def test_pool_settings_from_the_environment() -> None:
    settings = load_settings(
        {
            "KODEWAR_POOL": "false",
            "KODEWAR_POOL_MIN": "python=1, c=2",
            "KODEWAR_POOL_MAX_TOTAL": "6",
            "KODEWAR_POOL_MAX_AGE_S": "60",
            "KODEWAR_CONSUMER_WAKEUP": "no",
        }
    )
    assert settings.sandbox.pool_enabled is False
    assert settings.sandbox.pool_min == (("python", 1), ("c", 2))
    assert settings.sandbox.pool_max_total == 6
    assert settings.sandbox.pool_max_age_s == 60.0
    assert settings.queue.consumer_wakeup is False


@pytest.mark.parametrize("raw", ["python", "python=", "=1", "python=-1", "python=many"])
def test_a_malformed_pool_floor_is_named(raw: str) -> None:
    with pytest.raises(SettingsError, match="KODEWAR_POOL_MIN"):
        load_settings({"KODEWAR_POOL_MIN": raw})
