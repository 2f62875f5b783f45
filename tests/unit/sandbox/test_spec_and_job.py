"""The isolation flags are the product: pin each one so a change to them is a deliberate act."""

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.job import build_job, deadline_s
from sandbox.languages import RegistryError, load_registry
from sandbox.limits import LimitPolicy
from sandbox.spec import container_spec
from sandbox.submission import build_submission

REGISTRY = load_registry()
CONFIG = SandboxConfig()


def submission(body: dict[str, object]):  # type: ignore[no-untyped-def]
    return build_submission(body, REGISTRY, LimitPolicy())


def test_container_spec_isolation_flags() -> None:
    spec = container_spec(REGISTRY["python"], LimitPolicy().defaults, CONFIG, "kodewar-x")
    assert spec["netns"] == {"nsmode": "none"}
    assert spec["read_only_filesystem"] is True and spec["read_write_tmpfs"] is False
    assert spec["cap_drop"] == ["ALL"] and set(spec["cap_add"]) == {"CAP_SETUID", "CAP_SETGID"}  # type: ignore[arg-type]
    assert spec["no_new_privileges"] is True
    assert spec["seccomp_profile_path"] == CONFIG.seccomp_profile_path
    assert spec["httpproxy"] is False
    assert spec["env"] == {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    assert spec["log_configuration"] == {"driver": "none"}
    assert "/dev/zero" in spec["mask"]  # type: ignore[operator]
    mounts = {m["destination"]: m["options"] for m in spec["mounts"]}  # type: ignore[attr-defined]
    assert set(mounts) == {"/box", "/tmp"}
    for options in mounts.values():
        assert {"nosuid", "nodev"} <= set(options) and any(o.startswith("size=") for o in options)
    assert "noexec" in mounts["/box"]  # python needs no exec in its work dir
    assert "resource_limits" not in spec  # cgroup v1 rootless: rlimits do the work


def test_cgroup_limits_when_the_host_delegates_them() -> None:
    spec = container_spec(REGISTRY["python"], LimitPolicy().defaults, replace(CONFIG, cgroup_limits=True), "x")
    assert spec["resource_limits"]["pids"]["limit"] > 0  # type: ignore[index]


def test_job_carries_no_secrets_and_the_source_by_value() -> None:
    job = build_job(submission({"code": "print(1)", "language": "python", "stdin": "x"}), CONFIG, 12345)
    assert job["uid"] == 12345
    assert set(job["env"]) == {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}  # type: ignore[arg-type]
    assert base64.b64decode(job["files"]["main.py"]) == b"print(1)"  # type: ignore[index]
    assert job["run"]["argv"] == ["python3", "-E", "-s", "main.py"]  # type: ignore[index]
    assert "compile" not in job


def test_function_mode_runs_the_wrapper_on_the_source() -> None:
    seed = {"code": "def solution(x): return x * 2", "language": "python", "test_cases": [{"input": "2"}]}
    job = build_job(submission(seed), CONFIG, 12345)
    assert job["run"]["argv"] == ["python3", "-E", "-s", "function_python.py", "main.py", "solution"]  # type: ignore[index]
    assert set(job["files"]) == {"main.py", "function_python.py"}  # type: ignore[arg-type]


def test_a_python_submission_with_several_runs_gets_a_fork_server() -> None:
    two = {"code": "print(input())", "language": "python", "test_cases": [{"input": "1"}, {"input": "2"}]}
    spec = build_job(submission({**two, "args": ["a", "b"]}), CONFIG, 12345)["run"]["fork_server"]  # type: ignore[index]
    assert spec["command"][:5] == ["python3", "-E", "-s", "-P", "-c"]  # -P: nothing from /box imported as root
    assert "def serve(" in spec["command"][5]
    assert spec["program"] == ["main.py", "a", "b"]
    function = build_job(submission({**two, "code": "def solution(x): return x"}), CONFIG, 1)["run"]["fork_server"]  # type: ignore[index]
    assert function["program"] == ["function_python.py", "main.py", "solution"]
    one = {**two, "test_cases": [{"input": "1"}]}
    assert "fork_server" not in build_job(submission(one), CONFIG, 1)["run"]  # type: ignore[operator]
    assert "fork_server" in build_job(submission({**one, "number_of_runs": 2}), CONFIG, 1)["run"]  # type: ignore[operator]
    off = replace(CONFIG, fork_servers=False)
    assert "fork_server" not in build_job(submission(two), off, 1)["run"]  # type: ignore[operator]
    c = {"code": "int main(){}", "language": "c", "test_cases": [{"input": "1"}, {"input": "2"}]}
    assert "fork_server" not in build_job(submission(c), CONFIG, 1)["run"]  # type: ignore[operator]


def test_the_registry_refuses_an_unknown_fork_server(tmp_path: Path) -> None:
    registry = tmp_path / "languages.toml"
    registry.write_text('[x]\nname = "X"\nversion = "1"\nsource = "x"\nrun = ["x", "{source}"]\nfork_server = "x"\n')
    with pytest.raises(RegistryError, match="fork_server must be one of"):
        load_registry(registry)
    registry.write_text('[x]\nname = "X"\nversion = "1"\nsource = "x"\nrun = ["python3"]\nfork_server = "python"\n')
    with pytest.raises(RegistryError, match=r"needs \{source\}"):
        load_registry(registry)


def test_deadline_covers_every_stage() -> None:
    body = {"code": "x", "language": "python", "test_cases": [{"input": ""}] * 3, "limits": {"wall_time_s": 2}}
    assert deadline_s(submission(body), CONFIG) == CONFIG.startup_grace_s + 3 * (2 + CONFIG.per_test_grace_s)
