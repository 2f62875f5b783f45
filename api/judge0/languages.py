"""Judge0 CE 1.13.1's language ids mapped onto the registry, and its catalog endpoints' shapes.

Ids are those of Judge0 CE 1.13.1 (db/languages/active.rb) for the languages KodeWar runs, including
every id the official Python SDK (judge0 0.0.x, data.py "1.13.1") maps an alias to: C 50 and C_CLANG
75, CPP 52 and CPP_CLANG 76, ... Judge0 ran several toolchain versions under different ids; here each
runs on the registry's one toolchain, and the names say which.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.job import compile_argv
from sandbox.languages import Language
from sandbox.limits import LimitPolicy

JUDGE0_VERSION = "1.13.1"
# id -> (registry key, the name Judge0 CE 1.13.1 gives it)
JUDGE0_IDS: dict[int, tuple[str, str]] = {
    46: ("bash", "Bash (5.0.0)"),
    48: ("c", "C (GCC 7.4.0)"),
    49: ("c", "C (GCC 8.3.0)"),
    50: ("c", "C (GCC 9.2.0)"),
    52: ("cpp", "C++ (GCC 7.4.0)"),
    53: ("cpp", "C++ (GCC 8.3.0)"),
    54: ("cpp", "C++ (GCC 9.2.0)"),
    60: ("go", "Go (1.13.5)"),
    62: ("java", "Java (OpenJDK 13.0.1)"),
    63: ("javascript", "JavaScript (Node.js 12.14.0)"),
    71: ("python", "Python (3.8.1)"),
    73: ("rust", "Rust (1.40.0)"),
    75: ("c", "C (Clang 7.0.1)"),
    76: ("cpp", "C++ (Clang 7.0.1)"),
}
# The id a submission made through the native API shows (the newest toolchain Judge0 had).
PRIMARY_IDS: dict[str, int] = {"bash": 46, "c": 50, "cpp": 54, "go": 60, "java": 62, "javascript": 63}
PRIMARY_IDS |= {"python": 71, "rust": 73}


@dataclass(frozen=True)
class Judge0Language:
    id: int
    name: str
    language: Language


def catalog(registry: Mapping[str, Language]) -> dict[int, Judge0Language]:
    """The Judge0 ids this server runs, sorted as Judge0 lists them (by name)."""
    entries = []
    for judge0_id, (key, judge0_name) in JUDGE0_IDS.items():
        language = registry.get(key)
        if language is None:
            continue
        name = f"{language.name} ({language.version})"
        if PRIMARY_IDS.get(key) != judge0_id:
            name += f" for {judge0_name}"  # an id Judge0 gave to another toolchain version
        entries.append(Judge0Language(judge0_id, name, language))
    return {entry.id: entry for entry in sorted(entries, key=lambda e: (e.name, e.id))}


def judge0_id(key: str, registry: Mapping[str, Language]) -> int | None:
    """The id to show for a registry key (submissions made through the native API)."""
    return PRIMARY_IDS.get(key) if key in registry else None


def summary(entry: Judge0Language, *, archived: bool = False) -> dict[str, object]:
    """GET /languages ({id, name}) and, with archived, GET /languages/all."""
    item: dict[str, object] = {"id": entry.id, "name": entry.name}
    if archived:
        item["is_archived"] = False
    return item


def detail(entry: Judge0Language, policy: LimitPolicy) -> dict[str, object]:
    """GET /languages/{id}: the commands as they run at the default limits; `%s` marks where
    compiler_options go, as in Judge0's compile_cmd."""
    language = entry.language
    values = {
        "memory_mb": policy.defaults.memory_mb,
        "compile_memory_mb": policy.compile.memory_mb,
        "stack_mb": policy.defaults.stack_mb,
    }
    compile_cmd = None
    if language.compiled:
        compile_cmd = shlex.join(compile_argv(language, ("OPTIONS",), **values)).replace("OPTIONS", "%s", 1)
    return {
        "id": entry.id,
        "name": entry.name,
        "is_archived": False,
        "source_file": language.source,
        "compile_cmd": compile_cmd,
        "run_cmd": shlex.join(language.argv(language.run, **values)),
    }
