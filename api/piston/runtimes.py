"""The registry as Piston runtimes: Piston's language names and aliases, semver versions.

Piston names C++ `c++` and runs C and C++ on a `gcc` runtime, JavaScript on `node`; its aliases are
kept so requests written for Piston resolve here. The registry key is always an alias too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.piston.semver import Version, parse_version, satisfies, show
from sandbox.languages import Language

# registry key -> (Piston language name, aliases, runtime or None)
PISTON_NAMES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "python": ("python", ("py", "py3", "python3"), None),
    "c": ("c", ("gcc",), "gcc"),
    "cpp": ("c++", ("cpp", "g++"), "gcc"),
    "java": ("java", (), None),
    "javascript": ("javascript", ("node-javascript", "node-js", "js", "node"), "node"),
    "go": ("go", ("golang",), None),
    "rust": ("rust", ("rs",), None),
    "bash": ("bash", ("sh",), None),
}


@dataclass(frozen=True)
class Runtime:
    language: str
    version: Version
    aliases: tuple[str, ...]
    runtime: str | None
    registry_language: Language

    def as_dict(self) -> dict[str, object]:
        """One entry of GET /api/v2/runtimes; `runtime` only where Piston gives one."""
        entry: dict[str, object] = {"language": self.language, "version": show(self.version)}
        entry["aliases"] = list(self.aliases)
        if self.runtime:
            entry["runtime"] = self.runtime
        return entry


def runtimes(registry: Mapping[str, Language]) -> list[Runtime]:
    found = []
    for key, language in registry.items():
        name, aliases, runtime = PISTON_NAMES.get(key, (key, (), None))
        version = parse_version(language.version) or (0, 0, 0)
        extra = (key,) if key != name and key not in aliases else ()
        found.append(Runtime(name, version, (*aliases, *extra), runtime, language))
    return sorted(found, key=lambda r: r.language)


def find(available: list[Runtime], language: str, version: str) -> Runtime | None:
    """The newest runtime named or aliased `language` whose version satisfies `version`."""
    matching = [
        r
        for r in available
        if (r.language == language or language in r.aliases) and satisfies(r.version, version)
    ]
    return max(matching, key=lambda r: r.version, default=None)
