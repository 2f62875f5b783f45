"""The javascript image's V8 startup snapshot, against real Podman: a run at a memory limit the image
has a blob for starts from it, a run at another limit starts without one, and a program behaves the
same either way (argv, require of a built-in and of a local file, stdin read to its end, exit codes,
uncaught exceptions and their stack traces, console.Console, the MLE verdict, function mode).
"""

from __future__ import annotations

import json

from sandbox.result import Result
from sandbox.statuses import Status
from tests.conftest import RunFn
from tests.integration.sandbox.test_compat_features import zipped

SNAPSHOT_MB = 128  # in the image's NODE_SNAPSHOT_MEMORY_MB: the run uses its blob
PLAIN_MB = 100  # not in it: node starts as it does without a snapshot
BLOB = "/usr/local/lib/kodewar/node-startup-{mb}.blob"

PROGRAM = r"""
const path = require("path");
const helper = require("./lib/helper");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const [cmd, ...rest] = input.split("\n");
  if (cmd === "flags") {
    console.log(JSON.stringify(process.execArgv));
  } else if (cmd === "facts") {
    const console_ = typeof console.Console;
    const main = require.main === module;
    console.log(JSON.stringify([process.argv.slice(1), __filename, path.sep, helper.value, console_, main]));
  } else if (cmd === "count") {
    console.log(rest.length, rest.reduce((sum, line) => sum + Number(line), 0));
  } else if (cmd === "exit") {
    process.stdout.write("partial");
    process.exit(7);
  } else if (cmd === "throw") {
    helper.fail();
  } else if (cmd === "heap") {
    const chunks = [];
    for (;;) chunks.push(new Array(1 << 20).fill(1.5));
  }
});
"""
HELPER = b'exports.value = 41 + 1;\nexports.fail = () => { throw new TypeError("boom"); };\n'
CASES = ["flags", "facts", "count\n" + "\n".join(str(i) for i in range(50_000)), "exit", "throw", "heap"]

FUNCTION = """function solution(values, factor) {
  console.log("to stderr");
  return values.map((v) => v * factor);
}
"""


def _stdio(run: RunFn, memory_mb: int) -> Result:
    return run(
        "javascript",
        PROGRAM,
        tests=[{"input": case} for case in CASES],
        args=["x", "y z"],
        additional_files=zipped({"lib/helper.js": HELPER}),
        limits={"memory_mb": memory_mb, "cpu_time_s": 2},
        mode="stdio",
    )


def test_runs_at_a_listed_limit_start_from_the_snapshot(run: RunFn) -> None:
    for memory_mb, expected in [
        (SNAPSHOT_MB, [f"--max-old-space-size={SNAPSHOT_MB}", "--snapshot-blob", BLOB.format(mb=SNAPSHOT_MB)]),
        (PLAIN_MB, [f"--max-old-space-size={PLAIN_MB}"]),
    ]:
        result = run(
            "javascript", "console.log(JSON.stringify(process.execArgv));", stdin="", limits={"memory_mb": memory_mb}
        )
        (test,) = result.tests
        assert test.status is Status.ACCEPTED, test.stderr.text
        # Without the blob at SNAPSHOT_MB, this host's CPU flags differ from the image build's: rebuild the image.
        assert json.loads(test.stdout.text) == expected


def test_programs_behave_the_same_with_and_without_the_snapshot(run: RunFn) -> None:
    snap, plain = _stdio(run, SNAPSHOT_MB), _stdio(run, PLAIN_MB)
    by_case = {case.split("\n")[0]: (s, p) for case, s, p in zip(CASES, snap.tests, plain.tests, strict=True)}

    facts, _ = by_case["facts"]
    assert json.loads(facts.stdout.text) == [["/box/main.js", "x", "y z"], "/box/main.js", "/", 42, "function", True]
    assert by_case["count"][0].stdout.text == "50000 1249975000\n"
    assert (by_case["exit"][0].exit_code, by_case["exit"][0].stdout.text) == (7, "partial")
    thrown = by_case["throw"][0]
    assert thrown.status is Status.RUNTIME_ERROR_NZEC
    assert "TypeError: boom" in thrown.stderr.text and "(/box/main.js:" in thrown.stderr.text
    assert by_case["heap"][0].status is Status.MEMORY_LIMIT_EXCEEDED
    for case, (s, p) in by_case.items():
        assert (s.status, s.exit_code, s.signal) == (p.status, p.exit_code, p.signal), case
        if case not in ("flags", "heap"):  # execArgv names the blob; V8's OOM report has addresses and timings
            assert (s.stdout.text, s.stderr.text) == (p.stdout.text, p.stderr.text), case


def test_function_mode_behaves_the_same_with_and_without_the_snapshot(run: RunFn) -> None:
    tests = [{"input": "[1, 2], 3", "expected": "[3, 6]"}, {"input": "[1], 2", "expected": "[3]"}]
    snap, plain = (run("javascript", FUNCTION, tests=tests, limits={"memory_mb": mb}) for mb in (SNAPSHOT_MB, PLAIN_MB))
    assert [t.status for t in snap.tests] == [Status.ACCEPTED, Status.WRONG_ANSWER], snap.tests[0].stderr.text
    for s, p in zip(snap.tests, plain.tests, strict=True):
        assert (s.status, s.stdout.text, s.stderr.text) == (p.status, p.stdout.text, p.stderr.text)
    assert snap.tests[0].stderr.text == "to stderr\n"
