"""Comparison of a test's actual output with its expected output.

Kinds (``CheckerSpec.kind``):

- ``default``: Judge0's rule, see ``judge0_normalise``.
- ``exact``: the two strings are equal character for character.
- ``tokens``: the whitespace-separated token sequences are equal.
- ``float``: as ``tokens``, but two tokens that both parse as numbers compare within the tolerances.
- ``value``: function mode; the wrapper's JSON for the return value against the client's literal.

Inputs are ``str`` already decoded by the caller. Every kind is linear in the input size and stays
in C-implemented string routines where it can, so 1 MB outputs compare in milliseconds.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CHECKER_KINDS = ("default", "exact", "tokens", "float", "value")
DEFAULT_ABS_TOL = 1e-6
DEFAULT_REL_TOL = 1e-6

# Ruby's String#rstrip (Judge0 runs on Ruby 2.7) removes ASCII whitespace and NUL, nothing else:
# Python's argument-less str.rstrip() would also strip Unicode spaces such as U+00A0 and U+3000.
RUBY_RSTRIP_CHARS = " \t\n\v\f\r\0"
_SPEC_KEYS = frozenset({"kind", "abs_tol", "rel_tol"})


class CheckerError(ValueError):
    """A checker specification from a request is invalid; the message names the field."""


def _tolerance(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckerError(f"checker.{name} must be a number, got {value!r}")
    if isinstance(value, int) and value > 2**53:  # math.isfinite overflows on huge ints
        raise CheckerError(f"checker.{name} is out of range")
    if not math.isfinite(value) or value < 0:
        raise CheckerError(f"checker.{name} must be a finite number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CheckerSpec:
    """How one submission's outputs are compared; validated on construction."""

    kind: str = "default"
    abs_tol: float = DEFAULT_ABS_TOL
    rel_tol: float = DEFAULT_REL_TOL

    def __post_init__(self) -> None:
        if self.kind not in CHECKER_KINDS:
            raise CheckerError(f"checker.kind must be one of {', '.join(CHECKER_KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "abs_tol", _tolerance("abs_tol", self.abs_tol))
        object.__setattr__(self, "rel_tol", _tolerance("rel_tol", self.rel_tol))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str | CheckerSpec | None) -> CheckerSpec:
        """Build from a request's ``checker`` field: absent, a kind name, or an object."""
        if data is None:
            return cls()
        if isinstance(data, CheckerSpec):
            return data
        if isinstance(data, str):
            return cls(kind=data)
        if not isinstance(data, Mapping):
            raise CheckerError(f"checker must be a kind name or an object, got {type(data).__name__}")
        unknown = set(data) - _SPEC_KEYS
        if unknown:
            raise CheckerError(f"checker has unknown fields {sorted(map(str, unknown))}")
        kind = data.get("kind", "default")
        if not isinstance(kind, str):
            raise CheckerError(f"checker.kind must be a string, got {kind!r}")
        return cls(
            kind=kind,
            abs_tol=data.get("abs_tol", DEFAULT_ABS_TOL),
            rel_tol=data.get("rel_tol", DEFAULT_REL_TOL),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, accepted back by ``from_dict`` (for queue messages and results)."""
        return {"kind": self.kind, "abs_tol": self.abs_tol, "rel_tol": self.rel_tol}

    def describe(self) -> str:
        """One line for humans (CLI output, API docs)."""
        tolerances = f"abs_tol={self.abs_tol:g}, rel_tol={self.rel_tol:g}"
        return {
            "default": "default: trailing whitespace on each line and trailing blank lines ignored (Judge0)",
            "exact": "exact: byte-for-byte equal",
            "tokens": "tokens: whitespace-separated tokens equal",
            "float": f"float: tokens equal, numbers within {tolerances}",
            "value": f"value: returned value equals the expected literal, floats within {tolerances}",
        }[self.kind]


def check(spec: CheckerSpec, actual: str, expected: str) -> bool:
    """True when ``actual`` matches ``expected`` under ``spec``."""
    return _CHECKS[spec.kind](spec, actual, expected)


# --- default (Judge0) ---------------------------------------------------------------------------


def judge0_normalise(text: str) -> str:
    """Judge0 1.13.1's ``strip`` (app/jobs/isolate_job.rb), reproduced exactly.

    Ruby: ``text.split("\\n").collect(&:rstrip).join("\\n").rstrip``. So: split on LF only; remove
    trailing ASCII whitespace and NUL (space, \\t, \\n, \\v, \\f, \\r, \\0) from every line, which
    makes CRLF equal to LF; join with LF; remove the same characters from the end of the whole
    text, which drops trailing blank lines. Leading whitespace, inner spaces, leading blank lines,
    a CR inside a line and Unicode spaces all still matter.

    One deliberate difference: Judge0 stores an empty stdout as nil and nil never equals a
    string, so there an empty program output fails an expected "" or "\\n" while an output of
    "\\n" passes. Here an empty output is just the empty string and both pass.
    """
    return "\n".join([line.rstrip(RUBY_RSTRIP_CHARS) for line in text.split("\n")]).rstrip(RUBY_RSTRIP_CHARS)


def _check_default(spec: CheckerSpec, actual: str, expected: str) -> bool:
    return actual == expected or judge0_normalise(actual) == judge0_normalise(expected)


def _check_exact(spec: CheckerSpec, actual: str, expected: str) -> bool:
    return actual == expected


# --- tokens and floats --------------------------------------------------------------------------


def _tokens(text: str) -> list[bytes]:
    # bytes.split() separates on ASCII whitespace only (the same set as the default rule, minus
    # NUL) and runs in C. Splitting UTF-8 is safe: multi-byte sequences never hold ASCII bytes.
    return text.encode("utf-8", "surrogatepass").split()


def _check_tokens(spec: CheckerSpec, actual: str, expected: str) -> bool:
    return _tokens(actual) == _tokens(expected)


def _parse_float(token: bytes) -> float | None:
    # float() also takes "1_000"; a judge must not equate that with "1000".
    if b"_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None


def floats_close(a: float, b: float, spec: CheckerSpec) -> bool:
    """NaN equals NaN, an infinity only the same infinity, finite numbers by the tolerances."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=spec.rel_tol, abs_tol=spec.abs_tol)


def _check_float(spec: CheckerSpec, actual: str, expected: str) -> bool:
    got, want = _tokens(actual), _tokens(expected)
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if g == w:
            continue
        a, b = _parse_float(g), _parse_float(w)
        if a is None or b is None or not floats_close(a, b, spec):
            return False
    return True


# --- value (function mode) ----------------------------------------------------------------------


def _json_key(key: object) -> str:
    """A dict key as json.dumps writes it, so {1: 2} in Python equals {"1": 2} in JSON."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return repr(key)


def normalise_value(value: object) -> object:
    """Map a Python literal onto what json.loads would give: tuples and sets become lists (sets
    sorted when their items allow), dict keys become strings, anything else non-JSON its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [normalise_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [normalise_value(item) for item in value]
        try:
            return sorted(items)  # type: ignore[type-var]
        except TypeError:
            return items
    if isinstance(value, dict):
        return {_json_key(k): normalise_value(v) for k, v in value.items()}
    return repr(value)


def parse_expected_value(expected: str) -> object:
    """The client's expected value: JSON, else a Python literal, else the text itself
    (normalised by the default rule, so an unquoted ``hello`` means the string "hello")."""
    text = expected.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return normalise_value(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return judge0_normalise(expected)


def values_equal(actual: object, expected: object, spec: CheckerSpec) -> bool:
    """Structural equality of JSON-shaped values; numbers by value (4 == 4.0) with floats within
    the tolerances, but a bool only equals a bool (True != 1). Iterative: no recursion limit."""
    stack: list[tuple[object, object]] = [(actual, expected)]
    while stack:
        a, b = stack.pop()
        if isinstance(a, bool) or isinstance(b, bool):
            if not (isinstance(a, bool) and isinstance(b, bool) and a == b):
                return False
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if not _numbers_equal(a, b, spec):
                return False
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif type(a) is not type(b) or a != b:  # str and None
            return False
    return True


def _numbers_equal(a: int | float, b: int | float, spec: CheckerSpec) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    try:
        return floats_close(float(a), float(b), spec)
    except OverflowError:  # an int beyond float range against a float: only equal if exactly so
        return a == b


def _check_value(spec: CheckerSpec, actual: str, expected: str) -> bool:
    try:
        got = json.loads(actual)
    except (ValueError, RecursionError):
        # Not the wrapper's JSON (e.g. an int past Python's digit limit): fall back to text.
        return _check_default(spec, actual, expected)
    return values_equal(got, parse_expected_value(expected), spec)


_CHECKS: dict[str, Callable[[CheckerSpec, str, str], bool]] = {
    "default": _check_default,
    "exact": _check_exact,
    "tokens": _check_tokens,
    "float": _check_float,
    "value": _check_value,
}
