import pytest

from kodewar.settings import SettingsError, load_settings


def test_embedded_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.sandbox.podman_url.startswith("unix:///run/user/")
    assert settings.sandbox.policy.defaults.memory_mb == 128
    assert settings.sandbox.policy.maxima.memory_mb == 512


def test_environment_overrides() -> None:
    settings = load_settings(
        {"KODEWAR_MAX_MEMORY_MB": "1024", "KODEWAR_DEFAULT_CPU_TIME_S": "2.5", "KODEWAR_CGROUP_LIMITS": "true"}
    )
    assert settings.sandbox.policy.maxima.memory_mb == 1024
    assert settings.sandbox.policy.defaults.cpu_time_s == 2.5
    assert settings.sandbox.cgroup_limits is True


@pytest.mark.parametrize("env", [{"KODEWAR_MAX_MEMORY_MB": "lots"}, {"KODEWAR_CGROUP_LIMITS": "maybe"}])
def test_malformed_settings_are_named(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        load_settings(env)
