"""Per-language programs for the sandbox's integration tests and the bench.

``PROGRAMS[language][case]`` is the source that shows ``case``; ``CASES[case]`` is the test (stdin
and expected output) that makes it show it. Most cases of a language share one source, a small
dispatcher whose behaviour the test's stdin selects (``"cpu"``, ``"memory"``, ...), so a caller can
group cases by source and run them all in one container: container start is the cost floor.
``expected_status(language, case)`` is the verdict the sandbox must give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.result import Result
from sandbox.statuses import Status

Run = Callable[..., Result]  # the `run` fixture of tests/conftest.py

# Small limits keep the suite quick; the memory hogs and the JVM are sized for 64 MB.
MATRIX_LIMITS: dict[str, float] = {"cpu_time_s": 1, "wall_time_s": 2, "memory_mb": 64}
COMPILED = ("c", "cpp", "java", "go", "rust")


@dataclass(frozen=True)
class Case:
    stdin: str
    expected: str | None = None  # None: no comparison, the run status decides

    def test(self) -> dict[str, str]:
        return {"input": self.stdin} if self.expected is None else {"input": self.stdin, "expected": self.expected}


CASES: dict[str, Case] = {
    "accepted": Case("double 21", "42"),
    "wrong_answer": Case("double 21", "43"),
    "tle_cpu": Case("cpu"),
    "tle_sleep": Case("sleep"),
    "mle": Case("memory"),
    "ole": Case("flood"),
    "segfault": Case("segfault"),
    "sigfpe": Case("divzero"),
    "nzec": Case("exit"),  # exit code 3
    "exception": Case("raise"),
    "compile_error": Case("double 21", "42"),
}

STATUS: dict[str, Status] = {
    "accepted": Status.ACCEPTED,
    "wrong_answer": Status.WRONG_ANSWER,
    "tle_cpu": Status.TIME_LIMIT_EXCEEDED,
    "tle_sleep": Status.TIME_LIMIT_EXCEEDED,
    "mle": Status.MEMORY_LIMIT_EXCEEDED,
    "ole": Status.OUTPUT_LIMIT_EXCEEDED,
    "segfault": Status.RUNTIME_ERROR_SIGSEGV,
    "sigfpe": Status.RUNTIME_ERROR_SIGFPE,
    "nzec": Status.RUNTIME_ERROR_NZEC,
    "exception": Status.RUNTIME_ERROR_NZEC,
    "compile_error": Status.COMPILATION_ERROR,
}

# Where a language's nature gives another verdict than the case's usual one.
STATUS_OVERRIDES: dict[str, dict[str, Status]] = {
    "c": {"exception": Status.RUNTIME_ERROR_SIGABRT},  # assert(0): C has no exceptions
    "cpp": {"exception": Status.RUNTIME_ERROR_SIGABRT},  # uncaught throw -> std::terminate -> abort
    "go": {"segfault": Status.RUNTIME_ERROR_NZEC},  # nil dereference is a runtime panic, exit 2
}


def expected_status(language: str, case: str) -> Status:
    return STATUS_OVERRIDES.get(language, {}).get(case, STATUS[case])


PYTHON = r"""
import sys
import time

cmd, _, arg = sys.stdin.read().strip().partition(" ")
if cmd == "double":
    print(2 * int(arg))
elif cmd == "cpu":
    while True:
        pass
elif cmd == "sleep":
    time.sleep(10)
elif cmd == "memory":
    chunks = []
    while True:
        chunks.append(b"x" * (10 << 20))
elif cmd == "flood":
    line = "a" * 4095 + "\n"
    while True:
        sys.stdout.write(line)
elif cmd == "segfault":
    import ctypes
    ctypes.string_at(0)
elif cmd == "exit":
    sys.exit(3)
elif cmd == "raise":
    raise RuntimeError("boom")
"""

C = r"""
#define _GNU_SOURCE
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char cmd[32] = "";
    long n = 0;
    if (scanf("%31s %ld", cmd, &n) < 1) return 2;
    if (!strcmp(cmd, "double")) {
        printf("%ld\n", 2 * n);
    } else if (!strcmp(cmd, "cpu")) {
        volatile unsigned long x = 0;
        for (;;) x++;
    } else if (!strcmp(cmd, "sleep")) {
        sleep(10);
    } else if (!strcmp(cmd, "memory")) {
        for (;;) {  /* unchecked: the write to NULL after the last malloc is the crash */
            volatile char *p = malloc(1 << 20);
            for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1;
        }
    } else if (!strcmp(cmd, "flood")) {
        for (;;) putchar('a');
    } else if (!strcmp(cmd, "segfault")) {
        *(volatile int *)0 = 1;
    } else if (!strcmp(cmd, "divzero")) {
        volatile int seven = 7, zero = 0;
        printf("%d\n", seven / zero);
    } else if (!strcmp(cmd, "exit")) {
        return 3;
    } else if (!strcmp(cmd, "raise")) {
        assert(n == 12345);
    }
    return 0;
}
"""

CPP = r"""
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <unistd.h>

int main() {
    std::string cmd;
    long n = 0;
    std::cin >> cmd >> n;
    if (cmd == "double") {
        std::cout << 2 * n << "\n";
    } else if (cmd == "cpu") {
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
    } else if (cmd == "sleep") {
        sleep(10);
    } else if (cmd == "memory") {
        auto *cube = new int[512][512][512];
        cube[n % 512][1][2] = 3;
        std::cout << cube[1][2][3] << "\n";
    } else if (cmd == "flood") {
        for (;;) std::putchar('a');
    } else if (cmd == "segfault") {
        *(volatile int *)nullptr = 1;
    } else if (cmd == "divzero") {
        volatile int seven = 7, zero = 0;
        std::cout << seven / zero << "\n";
    } else if (cmd == "exit") {
        return 3;
    } else if (cmd == "raise") {
        throw std::runtime_error("boom");
    }
    return 0;
}
"""

JAVA = r"""
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;

public class Main {
    static volatile long counter;

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String[] words = in.readLine().trim().split("\\s+");
        switch (words[0]) {
            case "double": System.out.println(2 * Long.parseLong(words[1])); break;
            case "cpu": spin(); break;
            case "sleep": Thread.sleep(10_000); break;
            case "memory": hog(); break;
            case "flood": flood(); break;
            case "exit": System.exit(3); break;
            case "raise": throw new IllegalStateException("boom");
            default: System.exit(2);
        }
    }

    static void spin() { while (true) counter++; }

    static void hog() {
        int[][][] cube = new int[512][512][512];
        System.out.println(cube[1][2][3]);
    }

    static void flood() {
        PrintWriter out = new PrintWriter(System.out);
        while (true) out.print('a');
    }
}
"""

GO = r"""
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

type node struct{ next *node }

func main() {
	var cmd string
	var n int64
	in := bufio.NewReader(os.Stdin)
	fmt.Fscan(in, &cmd, &n)
	switch cmd {
	case "double":
		fmt.Println(2 * n)
	case "cpu":
		x := 0
		for {
			x++
		}
	case "sleep":
		time.Sleep(10 * time.Second)
	case "memory":
		var chunks [][]byte
		for {
			chunk := make([]byte, 10<<20)
			for i := range chunk {
				chunk[i] = 1
			}
			chunks = append(chunks, chunk)
		}
	case "flood":
		out := bufio.NewWriter(os.Stdout)
		for {
			out.WriteByte('a')
		}
	case "segfault":
		var p *node
		fmt.Println(p.next)
	case "exit":
		os.Exit(3)
	case "raise":
		panic("boom")
	}
}
"""

RUST = r"""
use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut words = input.split_whitespace();
    let cmd = words.next().unwrap_or("");
    match cmd {
        "double" => {
            let n: i64 = words.next().unwrap().parse().unwrap();
            println!("{}", 2 * n);
        }
        "cpu" => {
            let mut x: u64 = 0;
            loop {
                unsafe { std::ptr::write_volatile(&mut x, std::ptr::read_volatile(&x) + 1) };
            }
        }
        "sleep" => std::thread::sleep(std::time::Duration::from_secs(10)),
        "memory" => {
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            loop {
                chunks.push(vec![1u8; 10 << 20]);
            }
        }
        "flood" => {
            let out = std::io::stdout();
            let mut out = out.lock();
            loop {
                out.write_all(b"a").unwrap();
            }
        }
        "segfault" => unsafe { std::ptr::write_volatile(std::ptr::null_mut::<i32>(), 1) },
        "exit" => std::process::exit(3),
        "raise" => panic!("boom"),
        _ => std::process::exit(2),
    }
}
"""

JAVASCRIPT = r"""
const fs = require("fs");

const [cmd, arg] = fs.readFileSync(0, "utf8").trim().split(/\s+/);
if (cmd === "double") {
  console.log(2 * Number(arg));
} else if (cmd === "cpu") {
  for (;;) {}
} else if (cmd === "sleep") {
  setTimeout(() => {}, 10000);
} else if (cmd === "memory") {
  const chunks = [];
  for (;;) chunks.push(Buffer.alloc(10 << 20, 1));
} else if (cmd === "flood") {
  const line = "a".repeat(4095) + "\n";
  for (;;) fs.writeSync(1, line);
} else if (cmd === "exit") {
  process.exit(3);
} else if (cmd === "raise") {
  throw new Error("boom");
}
"""

BASH = r"""
set -u
read -r cmd arg
case "$cmd" in
  double) echo $((2 * arg)) ;;
  cpu) while :; do :; done ;;
  sleep) sleep 10 ;;
  memory) s=xxxxxxxxxxxxxxxx; while :; do s=$s$s; done ;;
  flood) while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done ;;
  exit) exit 3 ;;
  raise) echo "$undefined_variable" ;;
esac
"""

COMPILE_ERRORS: dict[str, str] = {
    "c": "int main(void) { return undefined_symbol; }\n",
    "cpp": "#include <vector>\nint main() { std::vector<int> v = 1; return v.size(); }\n",
    "java": 'public class Main { public static void main(String[] a) { int x = "s"; } }\n',
    "go": "package main\n\nfunc main() {\n\tx := 1\n}\n",
    "rust": 'fn main() { let x: i32 = "s"; }\n',
}

DISPATCHERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # language: (dispatcher source, the cases it covers)
    "python": (PYTHON, ("segfault",)),
    "c": (C, ("segfault", "sigfpe")),
    "cpp": (CPP, ("segfault", "sigfpe")),
    "java": (JAVA, ()),
    "go": (GO, ("segfault",)),
    "rust": (RUST, ("segfault",)),
    "javascript": (JAVASCRIPT, ()),
    "bash": (BASH, ()),
}
COMMON_CASES = ("accepted", "wrong_answer", "tle_cpu", "tle_sleep", "mle", "ole", "nzec", "exception")


def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for language, (source, extra) in DISPATCHERS.items():
        table[language] = dict.fromkeys((*COMMON_CASES, *extra), source.lstrip())
        if language in COMPILE_ERRORS:
            table[language]["compile_error"] = COMPILE_ERRORS[language]
    return table


PROGRAMS: dict[str, dict[str, str]] = _table()


# "Many tests, compiled once": each run appends a byte to /tmp/runs and prints twice its input and
# how many runs the container has seen, so the outputs prove one container; the marker (a compiler
# warning the source provokes) must show once in the compile output.
@dataclass(frozen=True)
class CompileOnce:
    source: str
    marker: str | None  # regex counted in compile_output; None: the compiler has no warning to provoke


COMPILE_ONCE: dict[str, CompileOnce] = {
    "c": CompileOnce(
        r"""
#warning "kodewar-compiled-once"
#include <stdio.h>
int main(void) {
    long n = 0;
    if (scanf("%ld", &n) != 1) return 2;
    FILE *f = fopen("/tmp/runs", "a");
    fputc('x', f);
    long runs = ftell(f);
    fclose(f);
    printf("%ld %ld\n", 2 * n, runs);
    return 0;
}
""",
        r"warning: #warning",
    ),
    "cpp": CompileOnce(
        r"""
#warning "kodewar-compiled-once"
#include <cstdio>
#include <fstream>
#include <iostream>
int main() {
    long n = 0;
    std::cin >> n;
    std::ofstream("/tmp/runs", std::ios::app) << 'x';
    std::ifstream runs("/tmp/runs", std::ios::ate);
    std::cout << 2 * n << " " << runs.tellg() << "\n";
    return 0;
}
""",
        r"warning: #warning",
    ),
    "java": CompileOnce(
        r"""
import java.nio.file.*;

public class Main {
    public static void main(String[] args) throws Exception {
        Integer kodewarCompiledOnce = new Integer(1);
        long n = Long.parseLong(new String(System.in.readAllBytes()).trim());
        Path runs = Paths.get("/tmp/runs");
        Files.write(runs, new byte[] {'x'}, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        System.out.println(2 * n * kodewarCompiledOnce + " " + Files.size(runs));
    }
}
""",
        r"warning: \[removal\]",
    ),
    "go": CompileOnce(
        r"""
package main

import (
	"fmt"
	"os"
)

func main() {
	var n int64
	fmt.Scan(&n)
	f, _ := os.OpenFile("/tmp/runs", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	f.Write([]byte("x"))
	info, _ := f.Stat()
	f.Close()
	fmt.Println(2*n, info.Size())
}
""",
        None,
    ),
    "rust": CompileOnce(
        r"""
use std::io::{Read, Write};

fn main() {
    let kodewar_compiled_once = 1;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let n: i64 = input.trim().parse().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open("/tmp/runs").unwrap();
    f.write_all(b"x").unwrap();
    println!("{} {}", 2 * n, f.metadata().unwrap().len());
}
""",
        r"unused variable: `kodewar_compiled_once`",
    ),
}
