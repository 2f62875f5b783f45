"""npm-style version ranges, as Piston matches `version` (node-semver's `satisfies`), for plain x.y.z.

Supported: `*`, `x`, partial versions (`3`, `3.11`, `3.x`), comparators (`>=3.10 <4`), `~`, `^`,
hyphen ranges (`1.2 - 2.3.4`) and `||`. Pre-release tags never match, as no runtime here has one.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]
_OPERATOR_SPACE = re.compile(r"(<=|>=|<|>|=|~|\^)\s+")
_SIMPLE = re.compile(r"(<=|>=|<|>|=|~>?|\^)?v?(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+))?)?")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_WILD = ("*", "x", "X")


def parse_version(text: str) -> Version | None:
    """The first x[.y[.z]] in a version string ("GCC 12.2.0 (C++17)" -> (12, 2, 0))."""
    found = re.search(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if found is None:
        return None
    return (int(found[1]), int(found[2] or 0), int(found[3] or 0))


def show(version: Version) -> str:
    return ".".join(map(str, version))


def satisfies(version: Version, spec: str) -> bool:
    """True when `version` is in the range; an invalid range matches nothing (as in node-semver)."""
    try:
        return any(all(_compare(version, op, bound) for op, bound in group) for group in _parse(spec))
    except ValueError:
        return False


Comparator = tuple[str, Version]


def _parse(spec: str) -> list[list[Comparator]]:
    groups = []
    for part in spec.split("||"):
        hyphen = _HYPHEN.match(part)
        if hyphen:
            low = _partial(hyphen[1])
            high = _partial(hyphen[2])
            groups.append([*_lower(">=", low), *_upper("<=", high)])
            continue
        comparators: list[Comparator] = []
        for token in _OPERATOR_SPACE.sub(r"\1", part.strip()).split():
            comparators.extend(_simple(token))
        groups.append(comparators)
    return groups


Partial = tuple[int | None, int | None, int | None]


def _partial(token: str) -> Partial:
    match = _SIMPLE.fullmatch(token)
    if match is None or match[1]:
        raise ValueError(token)
    return _numbers(match)


def _numbers(match: re.Match[str]) -> Partial:
    parts: list[int | None] = []
    for text in (match[2], match[3], match[4]):
        if text is None or text in _WILD or (parts and parts[-1] is None):
            parts.append(None)
        else:
            parts.append(int(text))
    return parts[0], parts[1], parts[2]


def _simple(token: str) -> list[Comparator]:
    token = re.split(r"[-+]", token, maxsplit=1)[0] if re.search(r"\d[-+]", token) else token
    match = _SIMPLE.fullmatch(token)
    if match is None:
        raise ValueError(token)
    op = match[1] or "="
    major, minor, patch = _numbers(match)
    if major is None:
        return [] if op in ("=", ">=", "<=", "~", "~>", "^") else [("<", (0, 0, 0))]
    if op in ("~", "~>"):
        top = (major, minor + 1, 0) if minor is not None else (major + 1, 0, 0)
        return [(">=", (major, minor or 0, patch or 0)), ("<", top)]
    if op == "^":
        if major > 0 or minor is None:
            top = (major + 1, 0, 0)
        elif minor > 0 or patch is None:
            top = (0, minor + 1, 0)
        else:
            top = (0, 0, patch + 1)
        return [(">=", (major, minor or 0, patch or 0)), ("<", top)]
    low: Partial = (major, minor, patch)
    if op == "=":
        return [*_lower(">=", low), *_upper("<=", low)]
    if op in (">=", ">"):
        return _lower(op, low)
    return _upper(op, low)


def _lower(op: str, bound: Partial) -> list[Comparator]:
    major, minor, patch = bound
    if major is None:
        return []
    if op == ">" and patch is None:  # >1.2 is >=1.3.0, >1 is >=2.0.0
        return [(">=", (major, minor + 1, 0) if minor is not None else (major + 1, 0, 0))]
    return [(op, (major, minor or 0, patch or 0))]


def _upper(op: str, bound: Partial) -> list[Comparator]:
    major, minor, patch = bound
    if major is None:
        return []
    if op == "<=" and patch is None:  # <=1.2 is <1.3.0, <=1 is <2.0.0
        return [("<", (major, minor + 1, 0) if minor is not None else (major + 1, 0, 0))]
    return [(op, (major, minor or 0, patch or 0))]


def _compare(version: Version, op: str, bound: Version) -> bool:
    return {
        "<": version < bound,
        "<=": version <= bound,
        ">": version > bound,
        ">=": version >= bound,
        "=": version == bound,
    }[op]
