"""The sandbox features Judge0 and Piston clients need, against real Podman: arguments, compiler
options, additional files (nested, written by the unprivileged stage), stderr redirected into stdout,
repeated runs and extra CPU time before the kill. The ``run`` fixture fails a test that leaves a
container or a sandbox process behind."""

from __future__ import annotations

import base64
import io
import zipfile

from sandbox.result import TestResult as Outcome  # not Test*: pytest would try to collect it
from sandbox.statuses import Status
from tests.conftest import RunFn

C_ECHO_ARGS = """#include <stdio.h>
#include "lib/greeting.h"
int main(int argc, char **argv) {
    printf("%s %d", GREETING, VALUE);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    putchar('\\n');
    return 0;
}
"""


def zipped(files: dict[str, bytes]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return base64.b64encode(buffer.getvalue()).decode()


def only(result: object) -> Outcome:
    tests = result.tests  # type: ignore[attr-defined]
    assert len(tests) == 1
    return tests[0]  # type: ignore[no-any-return]


def test_arguments_options_and_nested_files_reach_a_c_program(run: RunFn) -> None:
    header = b'#define GREETING "hello"\n'
    result = run(
        "c",
        C_ECHO_ARGS,
        stdin="",
        args=["a b", "$HOME", "--x"],
        compiler_options=["-DVALUE=42", "-Wall"],
        additional_files=zipped({"lib/greeting.h": header}),
    )
    test = only(result)
    assert test.status is Status.ACCEPTED, (result.compile_output.text, test.message)
    assert test.stdout.text == "hello 42 [a b] [$HOME] [--x]\n"


def test_a_program_reads_an_additional_file(run: RunFn) -> None:
    code = "print(open('data/input.txt').read().strip(), open('top.txt').read())"
    result = run("python", code, stdin="", additional_files=zipped({"data/input.txt": b"41\n", "top.txt": b"x"}))
    assert only(result).stdout.text == "41 x\n"


def test_python_imports_its_additional_modules(run: RunFn) -> None:
    code = "from helper import greet\nprint(greet('judge'))"
    module = b"def greet(name):\n    return 'hello ' + name\n"
    result = run("python", code, stdin="", additional_files=zipped({"helper.py": module}))
    assert only(result).stdout.text == "hello judge\n"


def test_stderr_redirected_into_stdout_keeps_the_write_order(run: RunFn) -> None:
    code = "import sys\nprint('out1', flush=True)\nprint('err', file=sys.stderr, flush=True)\nprint('out2')"
    test = only(run("python", code, stdin="", redirect_stderr_to_stdout=True))
    assert test.stdout.text == "out1\nerr\nout2\n" and test.stderr.text == ""


def test_runs_repeat_in_one_work_dir_and_stop_at_the_first_failure(run: RunFn) -> None:
    count = "import os\nwith open('runs', 'a') as f: f.write('x')\nprint(os.path.getsize('runs'))"
    test = only(run("python", count, stdin="", number_of_runs=3))
    assert test.status is Status.ACCEPTED and test.stdout.text == "3\n"
    fails_second = count + "\nraise SystemExit(os.path.getsize('runs') - 1)"
    test = only(run("python", fails_second, stdin="", number_of_runs=5))
    assert test.status is Status.RUNTIME_ERROR_NZEC and test.stdout.text == "2\n" and test.exit_code == 1


def test_extra_cpu_time_measures_an_overrun_and_still_judges_at_the_limit(run: RunFn) -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.4: pass\nprint('done')"
    test = only(run("python", spin, stdin="", limits={"cpu_time_s": 1, "cpu_extra_time_s": 2}))
    assert test.status is Status.TIME_LIMIT_EXCEEDED
    assert test.stdout.text == "done\n" and 1.3 < test.time < 2.5  # it finished: the real time is known
    test = only(run("python", spin, stdin="", limits={"cpu_time_s": 1}))
    assert test.status is Status.TIME_LIMIT_EXCEEDED and test.stdout.text == "" and test.time < 1.4


def test_a_binary_output_keeps_its_bytes(run: RunFn) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'ok\\x00\\xff\\xfe')"
    test = only(run("python", code, stdin=""))
    assert test.stdout.raw == b"ok\x00\xff\xfe"
