"""Bad input to `kodewar run` is refused with a message and exit 2 before anything runs."""

import json
from pathlib import Path

import pytest

from kodewar.cli import EXIT_USAGE, main


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "main.py"
    path.write_text("print(input())\n")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--language", "cobol"], "unknown language"),
        (["--language", "python", "--memory-limit", "100000"], "memory_mb"),
        (["--language", "python", "--time-limit", "99"], "cpu_time_s"),
        (["--language", "python", "--tests", "/nonexistent.json"], "cannot read tests file"),
        (["--language", "python", "--tests", "{bad}", "--stdin", "x"], "either --tests or --stdin"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    source: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(source), *extra]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_malformed_tests_file(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "tests.json"
    bad.write_text("{not json")
    assert main(["run", str(source), "-l", "python", "--tests", str(bad)]) == EXIT_USAGE
    assert "not valid JSON" in capsys.readouterr().err
    bad.write_text(json.dumps({"input": "1"}))
    assert main(["run", str(source), "-l", "python", "--tests", str(bad)]) == EXIT_USAGE
    assert "JSON list" in capsys.readouterr().err
    bad.write_text(json.dumps([{"input": "1"}] * 1000))
    assert main(["run", str(source), "-l", "python", "--tests", str(bad)]) == EXIT_USAGE
    assert "over the cap" in capsys.readouterr().err


def test_empty_and_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("")
    assert main(["run", str(empty), "-l", "python"]) == EXIT_USAGE
    assert "code" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.py"), "-l", "python"]) == EXIT_USAGE


def test_languages_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["languages", "--json"]) == 0
    listed = {entry["language"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["python"]["function_mode"] is True


def test_unreachable_podman_is_an_infrastructure_error(
    source: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KODEWAR_PODMAN_URL", "unix:///nonexistent/podman.sock")
    assert main(["run", str(source), "-l", "python", "--stdin", "x"]) == 3
    err = capsys.readouterr().err
    assert "podman service" in err and "Traceback" not in err
