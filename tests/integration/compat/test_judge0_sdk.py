"""The official `judge0` Python SDK (PyPI) against a running stack's /judge0 API.

test_every_status_id_a_client_can_receive produces each of Judge0's ids 1 to 14 in one go; the
other tests cover the SDK's ways of running code and the request fields Judge0 clients send.
"""

from __future__ import annotations

import base64
import json

import judge0
import pytest
from judge0 import LanguageAlias
from judge0 import Status as J0

from kodewar.stack import LocalStack
from tests.integration.compat import programs as p
from tests.integration.service.support import wait_until


def run(client: judge0.Client, source: str, language: LanguageAlias | int, **fields: object) -> judge0.Submission:
    submission = judge0.run(client=client, source_code=source, language=language, **fields)
    assert isinstance(submission, judge0.Submission)
    return submission


def test_the_client_connects_and_every_sdk_alias_is_served(client: judge0.Client) -> None:
    assert client.version == "1.13.1"
    served = {language.id for language in client.languages}
    for alias in (LanguageAlias.PYTHON, LanguageAlias.PYTHON3, LanguageAlias.C, LanguageAlias.C_GCC):
        assert client.is_language_supported(alias), alias
    for alias in (LanguageAlias.C_CLANG, LanguageAlias.CPP, LanguageAlias.CPP_GCC, LanguageAlias.CPP_CLANG):
        assert client.is_language_supported(alias), alias
    for alias in (LanguageAlias.JAVA, LanguageAlias.JAVASCRIPT, LanguageAlias.GO, LanguageAlias.RUST):
        assert client.is_language_supported(alias), alias
    assert {46, 48, 49, 50, 52, 53, 54, 60, 62, 63, 71, 73, 75, 76} <= served
    assert not client.is_language_supported(LanguageAlias.PYTHON2)  # no Python 2 here
    assert client.config.max_submission_batch_size == 20 and client.config.enable_network is False
    assert client.get_language(71).source_file == "main.py"


@pytest.mark.parametrize(
    ("language", "source", "stdout"),
    [
        (LanguageAlias.PYTHON, 'print("hello from python")', "hello from python\n"),
        (LanguageAlias.C, p.C_HELLO, "hello from c\n"),
        (LanguageAlias.CPP, p.CPP_HELLO, "hello from c++\n"),
        (LanguageAlias.C_CLANG, p.C_HELLO, "hello from c\n"),
        (48, p.C_HELLO, "hello from c\n"),
        (54, p.CPP_HELLO, "hello from c++\n"),
        (LanguageAlias.JAVASCRIPT, 'console.log("hello from js")', "hello from js\n"),
    ],
)
def test_single_runs_in_several_languages(
    client: judge0.Client, language: LanguageAlias | int, source: str, stdout: str
) -> None:
    submission = run(client, source, language)
    assert submission.status == J0.ACCEPTED, submission
    assert submission.stdout == stdout and submission.stderr is None and submission.exit_code == 0
    assert submission.time is not None and submission.memory and submission.memory > 0
    assert submission.created_at is not None and submission.finished_at is not None


def test_runs_with_test_cases(client: judge0.Client) -> None:
    cases = [judge0.TestCase("1", "1"), judge0.TestCase("two", "two"), judge0.TestCase("3", "4")]
    results = judge0.run(client=client, source_code=p.PY_ECHO, language=LanguageAlias.PYTHON, test_cases=cases)
    assert isinstance(results, list)
    assert [r.status for r in results] == [J0.ACCEPTED, J0.ACCEPTED, J0.WRONG_ANSWER]
    assert [r.stdout for r in results] == ["1\n", "two\n", "3\n"]
    assert results[2].message is None  # Judge0 has no message for a clean exit


def test_a_batch_of_submissions(client: judge0.Client) -> None:
    submissions = [
        judge0.Submission(source_code=f"print({i} * {i})", language=LanguageAlias.PYTHON) for i in range(5)
    ] + [judge0.Submission(source_code=p.C_HELLO, language=LanguageAlias.C)]
    created = judge0.async_run(client=client, submissions=submissions)  # one POST /submissions/batch
    assert all(s.token is not None for s in created)
    done = judge0.wait(client=client, submissions=created)  # GET /submissions/batch?tokens=...
    assert [s.stdout for s in done] == [f"{i * i}\n" for i in range(5)] + ["hello from c\n"]


def test_base64_round_trips_non_ascii_and_binary_output(client: judge0.Client) -> None:
    submission = run(client, p.PY_BINARY, LanguageAlias.PYTHON)
    assert submission.status == J0.ACCEPTED
    # The SDK decodes base64 and then UTF-8 with backslashreplace: the bytes arrived exactly.
    assert submission.stdout == p.BINARY_STDOUT.decode(errors="backslashreplace")
    assert submission.stderr == "ërr\n"
    echoed = run(client, "import sys\nsys.stdout.write(sys.stdin.read())", LanguageAlias.PYTHON, stdin="ünï 😀\n\t")
    assert echoed.stdout == "ünï 😀\n\t"


def test_a_compile_error(client: judge0.Client) -> None:
    submission = run(client, p.C_SYNTAX_ERROR, LanguageAlias.C)
    assert submission.status == J0.COMPILATION_ERROR
    assert submission.compile_output is not None and "error" in submission.compile_output
    assert submission.stdout is None and submission.time is None and submission.exit_code is None


def test_a_time_limit(client: judge0.Client) -> None:
    submission = run(client, p.PY_SPIN, LanguageAlias.PYTHON, cpu_time_limit=1, cpu_extra_time=0.5)
    assert submission.status == J0.TIME_LIMIT_EXCEEDED
    assert submission.time is not None and 1.0 <= submission.time < 3.0


def test_a_run_with_additional_files(client: judge0.Client) -> None:
    files = judge0.Filesystem(
        content=[judge0.File(name="data.txt", content="21\n"), judge0.File(name="lib/value.h", content="#define V 7\n")]
    )
    submission = run(
        client,
        "print(int(open('data.txt').read()) * 2, open('lib/value.h').read().split()[-1])",
        LanguageAlias.PYTHON,
        additional_files=files,
    )
    assert submission.status == J0.ACCEPTED, submission
    assert submission.stdout == "42 7\n"
    c_source = '#include <stdio.h>\n#include "lib/value.h"\nint main(void) { printf("%d\\n", V); }\n'
    compiled = run(client, c_source, LanguageAlias.C, additional_files=files)
    assert compiled.stdout == "7\n", compiled


def test_request_fields_judge0_clients_send(client: judge0.Client) -> None:
    args = run(
        client,
        "import sys\nprint(sys.argv[1:], flush=True)\nprint('to stderr', file=sys.stderr)",
        LanguageAlias.PYTHON,
        command_line_arguments="one 'two words' three",
        redirect_stderr_to_stdout=True,
    )
    assert args.stdout == "['one', 'two words', 'three']\nto stderr\n" and args.stderr is None
    options = run(client, p.C_VALUE, LanguageAlias.C, compiler_options="-DVALUE=42 -O0")
    assert options.stdout == "42\n", options
    counted = run(
        client,
        "import os\nwith open('n', 'a') as f: f.write('.')\nprint(os.path.getsize('n'))",
        LanguageAlias.PYTHON,
        number_of_runs=3,
    )
    assert counted.stdout == "3\n" and counted.number_of_runs == 3  # three runs, the last one's output


# status -> (program, language, request fields, what else to check)
STATUS_PROGRAMS: dict[J0, tuple[str, LanguageAlias, dict[str, object]]] = {
    J0.ACCEPTED: (p.PY_ECHO, LanguageAlias.PYTHON, {"stdin": "x", "expected_output": "x"}),
    J0.WRONG_ANSWER: (p.PY_ECHO, LanguageAlias.PYTHON, {"stdin": "x", "expected_output": "y"}),
    J0.TIME_LIMIT_EXCEEDED: (p.PY_SPIN, LanguageAlias.PYTHON, {"cpu_time_limit": 0.5, "cpu_extra_time": 0}),
    J0.COMPILATION_ERROR: (p.C_SYNTAX_ERROR, LanguageAlias.C, {}),
    J0.RUNTIME_ERROR_SIGSEGV: (p.C_SEGV, LanguageAlias.C, {}),
    J0.RUNTIME_ERROR_SIGXFSZ: (p.C_BIG_FILE, LanguageAlias.C, {"max_file_size": 64}),
    J0.RUNTIME_ERROR_SIGFPE: (p.C_FPE, LanguageAlias.C, {}),
    J0.RUNTIME_ERROR_SIGABRT: (p.C_ABORT, LanguageAlias.C, {}),
    J0.RUNTIME_ERROR_NZEC: (p.PY_EXIT_3, LanguageAlias.PYTHON, {}),
    J0.RUNTIME_ERROR_OTHER: (p.C_USR1, LanguageAlias.C, {}),
    # `-c` makes gcc write an object file where the program should be: the kernel will not exec it.
    J0.EXEC_FORMAT_ERROR: (p.C_HELLO, LanguageAlias.C, {"compiler_options": "-c"}),
}


def test_every_status_id_a_client_can_receive(client: judge0.Client, stack: LocalStack) -> None:
    """Both slots held by sleepers: they read Processing, everything submitted after them In Queue.
    One queued record is then made unrunnable in Redis, as a settings change between API and worker
    would leave it: the worker refuses it with an Internal Error, the one status no program causes.
    The rest is one program per verdict, submitted as a batch."""
    sleep = p.PY_SLEEP.format(seconds=4)
    sleepers = [judge0.async_run(client=client, source_code=sleep, language=LanguageAlias.PYTHON) for _ in range(2)]

    def both_processing() -> bool:
        client.get_submissions(sleepers)
        return all(s.status == J0.PROCESSING for s in sleepers)

    wait_until(both_processing, 20, "both sleepers to be Processing", interval_s=0.05)
    statuses = list(STATUS_PROGRAMS)
    batch = [
        judge0.Submission(source_code=source, language=language, **fields)  # type: ignore[arg-type]
        for source, language, fields in STATUS_PROGRAMS.values()
    ]
    never = judge0.Submission(source_code='print("never")', language=LanguageAlias.PYTHON)
    queued = judge0.async_run(client=client, submissions=[*batch, never])  # copies, with tokens
    batch, doomed = queued[:-1], queued[-1]
    client.get_submissions(queued)
    assert {s.status for s in queued} == {J0.IN_QUEUE}
    redis = stack.redis_client()
    key = f"kw:sub:{doomed.token}"
    stored = redis.hget(key, "body")
    assert stored is not None
    body = json.loads(stored)
    redis.hset(key, "body", json.dumps({**body, "limits": {**body["limits"], "memory_mb": 10**6}}))

    done = judge0.wait(client=client, submissions=[*sleepers, *queued], retry_strategy=judge0.MaxWaitTime(90))
    assert [s.status for s in done[:2]] == [J0.ACCEPTED, J0.ACCEPTED]
    assert [s.status for s in batch] == statuses, [(s.status, s.message, s.compile_output) for s in batch]
    assert doomed.status == J0.INTERNAL_ERROR and doomed.message is not None
    signals = {J0.RUNTIME_ERROR_SIGSEGV: 11, J0.RUNTIME_ERROR_SIGFPE: 8, J0.RUNTIME_ERROR_SIGABRT: 6}
    signals |= {J0.RUNTIME_ERROR_OTHER: 10, J0.RUNTIME_ERROR_SIGXFSZ: 25}
    for submission in batch:
        if submission.status in signals:
            assert submission.exit_signal == signals[submission.status], submission
    nzec = batch[statuses.index(J0.RUNTIME_ERROR_NZEC)]
    assert nzec.exit_code == 3
    seen = {1, 2} | {int(s.status) for s in [*done, doomed] if s.status is not None}
    assert seen == set(range(1, 15))


def test_limits_judge0_lacks_map_to_its_nearest_status(client: judge0.Client) -> None:
    memory = run(client, p.PY_MEMORY_HOG, LanguageAlias.PYTHON, memory_limit=65536)
    assert memory.status == J0.RUNTIME_ERROR_OTHER
    assert memory.message is not None and "Memory Limit Exceeded" in judge0_text(memory.message)
    flood = run(client, p.PY_FLOOD, LanguageAlias.PYTHON, max_file_size=64)
    assert flood.status == J0.RUNTIME_ERROR_SIGXFSZ
    assert flood.message is not None and "Output Limit Exceeded" in judge0_text(flood.message)


def judge0_text(message: str) -> str:
    """`message` is base64 under base64_encoded=true (as in Judge0); the SDK leaves it encoded."""
    return base64.b64decode(message).decode()
