"""The submission keys Judge0 and Piston clients need: validated before anything runs, placed in the job."""

from __future__ import annotations

import base64
import io
import stat
import zipfile

import pytest

from sandbox.archive import MAX_EXTRACT_BYTES, ArchiveError, entry_path, read_archive
from sandbox.config import SandboxConfig
from sandbox.extras import ExtrasError, command_line_arguments, compiler_options
from sandbox.job import build_job, compile_argv, deadline_s
from sandbox.languages import load_registry
from sandbox.limits import LimitPolicy
from sandbox.result import Output, combine_runs
from sandbox.result import TestResult as RunResult
from sandbox.statuses import Status
from sandbox.submission import InvalidSubmission, build_submission

REGISTRY = load_registry()
CONFIG = SandboxConfig()
C_HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'


def archive(*entries: tuple[str, bytes] | zipfile.ZipInfo, data: bytes = b"x") -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as handle:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                handle.writestr(entry, data)
            else:
                handle.writestr(*entry)
    return base64.b64encode(buffer.getvalue()).decode()


def build(**body: object):  # type: ignore[no-untyped-def]
    raw = {"code": "print(1)", "language": "python", "mode": "stdio", **body}
    return build_submission(raw, REGISTRY, LimitPolicy())


# -- additional files ------------------------------------------------------------------------------


def test_an_archive_unpacks_to_relative_files_in_order() -> None:
    files = read_archive(archive(("data.txt", b"42"), ("lib/util.h", b"#define X 1"), ("lib/", b"")))
    assert files == (("data.txt", b"42"), ("lib/util.h", b"#define X 1"))


def test_line_broken_base64_as_ruby_writes_it_is_accepted() -> None:
    text = archive(("a", b"1"))
    wrapped = "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"
    assert read_archive(wrapped) == (("a", b"1"),)


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../escape", "a/../../b", "a//b", "./a", "a\\b", "bad\x01name", "", "a/" * 9 + "b"]
)
def test_entry_names_that_could_leave_the_work_dir_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError):
        entry_path(name)


def test_symlinks_and_devices_are_refused() -> None:
    link = zipfile.ZipInfo("link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(ArchiveError, match="symlink"):
        read_archive(archive(link, data=b"/etc/passwd"))
    fifo = zipfile.ZipInfo("fifo")
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    with pytest.raises(ArchiveError, match="not a plain file"):
        read_archive(archive(fifo))


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_file_that_is_also_a_directory_and_duplicates_are_refused() -> None:
    with pytest.raises(ArchiveError, match="both a file and a directory"):
        read_archive(archive(("a", b"1"), ("a/b", b"2")))
    with pytest.raises(ArchiveError, match="twice"):
        read_archive(archive(("a", b"1"), ("a", b"2")))


def test_the_real_unpacked_size_is_capped_not_the_claimed_one() -> None:
    bomb = archive(("zeros", b"\0" * (MAX_EXTRACT_BYTES + 1)))  # deflates to a few KB
    assert len(bomb) < 100_000
    with pytest.raises(ArchiveError, match="more than"):
        read_archive(bomb)


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"not a zip").decode(), 5])
def test_garbage_is_refused(text: object) -> None:
    with pytest.raises(ArchiveError):
        read_archive(text)


def test_additional_files_join_the_job_and_the_source_wins() -> None:
    submission = build(additional_files=archive(("main.py", b"evil"), ("pkg/data.txt", b"42")))
    job = build_job(submission, CONFIG, 12345)
    files = job["files"]
    assert base64.b64decode(files["main.py"]) == b"print(1)"  # type: ignore[index]
    assert base64.b64decode(files["pkg/data.txt"]) == b"42"  # type: ignore[index]


@pytest.mark.parametrize("name", ["_kodewar_function.py", "main.py/x"])
def test_archive_names_that_clash_with_kodewar_files_are_refused(name: str) -> None:
    with pytest.raises(InvalidSubmission) as info:
        build(additional_files=archive((name, b"x")))
    assert info.value.field == "additional_files"


# -- arguments and compiler options -----------------------------------------------------------------


def test_arguments_are_argv_entries_after_the_program() -> None:
    job = build_job(build(args=["a b", "$HOME", ";rm -rf /"]), CONFIG, 12345)
    assert job["run"]["argv"] == ["python3", "-E", "-s", "main.py", "a b", "$HOME", ";rm -rf /"]  # type: ignore[index]


@pytest.mark.parametrize("value", ["a b", [1], ["a\x00"], ["x"] * 65])
def test_bad_arguments_are_refused(value: object) -> None:
    with pytest.raises(ExtrasError):
        command_line_arguments(value)


def test_compiler_options_go_before_the_source_as_judge0_places_them() -> None:
    submission = build(code=C_HELLO, language="c", compiler_options=["-DX=1", "-O0", "util.c"])
    job = build_job(submission, CONFIG, 12345)
    assert job["compile"]["argv"] == ["gcc", "-O2", "-std=c17", "-o", "main", "-DX=1", "-O0", "util.c", "main.c", "-lm"]  # type: ignore[index]
    go = compile_argv(REGISTRY["go"], ("-v",))
    assert go[-2:] == ["-v", "main.go"]  # go build takes no flag after a file name


@pytest.mark.parametrize(
    "option",
    [
        "-fplugin=/box/x.so",
        "-B/box",
        "-wrapper",
        "-specs=/box/s",
        "-o",
        "-oelsewhere",
        "-Wl,-plugin,/box/x.so",
        "-Xlinker",
        "-toolexec=/box/x",
        "-J-javaagent:/box/a.jar",
        "-processorpath",
        "linker=/box/ld",
        "-Clinker=/box/ld",
        "link-arg=-B/box",
        "-fuse-ld=/box/ld",
        "a b",
        "$(id)",
        "`id`",
        "a;b",
        "@file",
        "",
    ],
)
def test_compiler_options_that_run_other_programs_or_inject_are_refused(option: str) -> None:
    with pytest.raises(ExtrasError):
        compiler_options([option])


@pytest.mark.parametrize(
    "option", ["-O3", "-std=c++20", "-Wall", "-DN=10", "-lm", "-fno-exceptions", "-C", "opt-level=3"]
)
def test_ordinary_compiler_options_pass(option: str) -> None:
    assert compiler_options([option]) == (option,)


def test_compiler_options_need_a_compiled_language() -> None:
    with pytest.raises(InvalidSubmission) as info:
        build(compiler_options=["-O2"])
    assert info.value.field == "compiler_options"


# -- redirect, runs, extra CPU time -----------------------------------------------------------------


def test_redirect_and_runs_reach_the_harness() -> None:
    submission = build(redirect_stderr_to_stdout=True, number_of_runs=3, limits={"wall_time_s": 2})
    job = build_job(submission, CONFIG, 12345)
    assert job["run"]["merge_stderr"] is True and job["run"]["runs"] == 3  # type: ignore[index]
    assert deadline_s(submission, CONFIG) == CONFIG.startup_grace_s + 3 * (2 + CONFIG.per_test_grace_s)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number_of_runs": 0}, "number_of_runs"),
        ({"number_of_runs": 21}, "number_of_runs"),
        ({"number_of_runs": True}, "number_of_runs"),
        ({"redirect_stderr_to_stdout": "yes"}, "redirect_stderr_to_stdout"),
        ({"limits": {"cpu_extra_time_s": 6}}, "limits.cpu_extra_time_s"),
        ({"mode": "function", "code": "def solution(x): return x", "args": ["1"]}, "args"),
    ],
)
def test_bad_extras_name_their_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSubmission) as info:
        build(**body)
    assert info.value.field == field


def test_extra_cpu_time_reaches_the_harness_limits() -> None:
    job = build_job(build(limits={"cpu_time_s": 1, "cpu_extra_time_s": 0.5}), CONFIG, 12345)
    assert job["run"]["limits"]["cpu_extra_time_s"] == 0.5  # type: ignore[index]


def test_a_native_body_without_the_new_keys_builds_as_before() -> None:
    submission = build()
    assert (submission.args, submission.compiler_options, submission.files) == ((), (), ())
    assert (submission.redirect_stderr, submission.runs, submission.limits.cpu_extra_time_s) == (False, 1, 0.0)


def test_runs_combine_as_judge0_reports_them() -> None:
    ok = [RunResult(Status.ACCEPTED, time=t, memory=m) for t, m in ((0.1, 1000), (0.3, 3000))]
    combined = combine_runs(ok)
    assert combined.status is Status.ACCEPTED and combined.time == 0.2 and combined.memory == 2000
    failed = RunResult(Status.RUNTIME_ERROR_NZEC, time=0.5, memory=5000, exit_code=1)
    stopped = combine_runs([ok[0], failed, ok[1]])  # runs after the first failure do not count
    assert stopped.status is Status.RUNTIME_ERROR_NZEC and stopped.exit_code == 1 and stopped.time == 0.3


def test_outputs_that_are_not_utf8_keep_their_bytes() -> None:
    text = Output.capture("héllo\n".encode(), 1024)
    assert text.raw is None and text.extra("stdout_base64") == {}
    binary = Output.capture(b"\x00\xff\xfe", 1024)
    assert binary.raw == b"\x00\xff\xfe"
    assert binary.extra("stdout_base64") == {"stdout_base64": base64.b64encode(b"\x00\xff\xfe").decode()}
    result = RunResult(Status.ACCEPTED, stdout=binary).as_dict(0)
    assert result["stdout_base64"] == "AP/+" and "stderr_base64" not in result


def test_a_compiled_program_the_kernel_cannot_start_is_an_exec_format_error() -> None:
    """gcc -c or -fsyntax-only leave no runnable ./main; Judge0 calls that Exec Format Error too."""
    import errno

    from sandbox.limits import Limits
    from sandbox.verdict import Stage, run_status

    def stage(code: int) -> Stage:
        return Stage(None, None, None, code, 0.0, 0.0, 0, b"", b"", False, False)

    for code in (errno.EACCES, errno.ENOENT, errno.ENOEXEC):
        assert run_status(stage(code), Limits(), REGISTRY["c"])[0] is Status.EXEC_FORMAT_ERROR
    assert run_status(stage(errno.ENOENT), Limits(), REGISTRY["python"])[0] is Status.INTERNAL_ERROR  # no python3
