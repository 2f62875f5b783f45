import math
import time

import pytest

from sandbox.checkers import CHECKER_KINDS, CheckerError, CheckerSpec, check, judge0_normalise, parse_expected_value

DEFAULT = CheckerSpec()
EXACT = CheckerSpec("exact")
TOKENS = CheckerSpec("tokens")
FLOAT = CheckerSpec("float", abs_tol=1e-6, rel_tol=1e-6)
VALUE = CheckerSpec("value")


# --- spec ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, CheckerSpec()),
        ("tokens", CheckerSpec("tokens")),
        ({}, CheckerSpec()),
        ({"kind": "float", "abs_tol": 0.01}, CheckerSpec("float", abs_tol=0.01)),
        ({"kind": "value", "rel_tol": 0, "abs_tol": 0}, CheckerSpec("value", 0.0, 0.0)),
        (CheckerSpec("exact"), CheckerSpec("exact")),
    ],
)
def test_from_dict_accepts(data, expected):
    assert CheckerSpec.from_dict(data) == expected


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("fuzzy", "kind"),
        ({"kind": 3}, "kind"),
        ({"kind": "float", "abs_tol": -1}, "abs_tol"),
        ({"kind": "float", "rel_tol": math.inf}, "rel_tol"),
        ({"kind": "float", "rel_tol": math.nan}, "rel_tol"),
        ({"kind": "float", "abs_tol": "0.1"}, "abs_tol"),
        ({"kind": "float", "abs_tol": True}, "abs_tol"),
        ({"kind": "float", "tolerance": 1}, "tolerance"),
        (42, "checker"),
    ],
)
def test_from_dict_rejects_naming_the_field(data, field):
    with pytest.raises(CheckerError, match=field):
        CheckerSpec.from_dict(data)


def test_checker_error_is_a_value_error():
    assert issubclass(CheckerError, ValueError)


def test_direct_construction_validates():
    with pytest.raises(CheckerError, match="abs_tol"):
        CheckerSpec("float", abs_tol=-0.5)


@pytest.mark.parametrize("kind", CHECKER_KINDS)
def test_round_trip_and_describe(kind):
    spec = CheckerSpec(kind, abs_tol=0.5, rel_tol=0.25)
    assert CheckerSpec.from_dict(spec.to_dict()) == spec
    assert spec.describe().startswith(kind)


# --- default (Judge0) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        ("4\n", "4", True),
        ("4", "4\n\n\n", True),
        ("4   \n", "4", True),
        ("1 2\t \n3\n", "1 2\n3", True),
        ("a\r\nb\r\n", "a\nb\n", True),  # CRLF: the CR is trailing whitespace
        ("4\n\n \n\t\n", "4", True),  # trailing blank lines
        ("4\0", "4", True),  # Ruby's rstrip removes NUL too
        ("4\v\f", "4", True),
        ("", "", True),
        ("", "\n", True),  # Judge0 says WA here (nil stdout), documented difference
        ("\n", "", True),
        ("  4", "4", False),  # leading spaces matter
        ("1  2", "1 2", False),  # inner spaces matter
        ("\n4", "4", False),  # leading blank lines matter
        ("1\n\n2", "1\n2", False),  # inner blank lines matter
        ("a\rb", "a\nb", False),  # a CR inside a line is not a line break
        ("4\u00a0", "4", False),  # Ruby does not strip Unicode spaces
        ("4\u3000", "4", False),
        ("4", "5", False),
        ("", "0", False),
    ],
)
def test_default(actual, expected, equal):
    assert check(DEFAULT, actual, expected) is equal
    assert check(DEFAULT, expected, actual) is equal


def test_judge0_normalise_matches_ruby():
    # Ruby: "\n a \r\n\nb\t\n\n".split("\n").collect(&:rstrip).join("\n").rstrip == "\n a\n\nb"
    assert judge0_normalise("\n a \r\n\nb\t\n\n") == "\n a\n\nb"
    assert judge0_normalise("\n\n") == ""


# --- exact --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [("4\n", "4\n", True), ("", "", True), ("4\n", "4", False), ("4\r\n", "4\n", False), ("4 ", "4", False)],
)
def test_exact(actual, expected, equal):
    assert check(EXACT, actual, expected) is equal


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        ("1 2 3", "1\n2\n3\n", True),
        ("  1\t2\r\n3  ", "1 2 3", True),
        ("", " \n ", True),
        ("é ü", "é\nü", True),
        ("1 2", "1 2 3", False),
        ("12", "1 2", False),
        ("1.0", "1", False),
        ("a\u00a0b", "a b", False),  # NBSP is not a separator (ASCII whitespace only)
    ],
)
def test_tokens(actual, expected, equal):
    assert check(TOKENS, actual, expected) is equal


# --- float --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        ("0.3333333", "0.333333333", True),
        ("1", "1.0000000", True),
        ("1e3", "1000", True),
        ("1000000.5", "1000000.0", True),  # relative 5e-7
        ("0.0000001", "0", True),  # absolute 1e-7
        ("3.14 abc 2", "3.1400000001 abc 2.0", True),
        ("nan", "NaN", True),
        ("inf", "Infinity", True),
        ("-inf -inf", "-inf -1e999", True),
        ("", "", True),
        ("0.1", "0.2", False),
        ("1.001", "1", False),
        ("inf", "-inf", False),
        ("nan", "0", False),
        ("inf", "1e308", False),
        ("1 2", "1 2 3", False),
        ("abc", "abd", False),
        ("1", "one", False),
        ("1_000", "1000", False),
    ],
)
def test_float(actual, expected, equal):
    assert check(FLOAT, actual, expected) is equal
    assert check(FLOAT, expected, actual) is equal


def test_float_tolerances_are_configurable():
    assert check(CheckerSpec("float", abs_tol=0.1, rel_tol=0), "1.05", "1")
    assert not check(CheckerSpec("float", abs_tol=0.01, rel_tol=0), "1.05", "1")
    assert check(CheckerSpec("float", abs_tol=0, rel_tol=0.1), "105", "100")
    assert not check(CheckerSpec("float", abs_tol=0, rel_tol=0), "1.0000001", "1")


# --- value (function mode) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        ("4\n", "4", True),
        ("4", "4.0", True),
        ("4.0000000001", "4", True),
        ("0.30000000000000004", "0.3", True),
        ("[1, 2]", "(1, 2)", True),  # tuples are lists
        ("[[1, [2]], []]", "((1, [2]), ())", True),
        ('"a b"', "'a b'", True),
        ('"a b"', '"a b"', True),
        ('"hello"', "hello", True),  # an unquoted expected is the raw text
        ('"hello"', "hello\n", True),
        ("true", "True", True),
        ("false", "false", True),
        ("null", "None", True),
        ('{"a": [1.0, 2]}', "{'a': [1, 2.0000000001]}", True),
        ('{"1": "x"}', "{1: 'x'}", True),  # JSON object keys are strings
        ("[1, 2, 3]", "{3, 1, 2}", True),  # sets sort
        ('"(1+2j)"', "1+2j", True),  # non-JSON values compare by repr
        ("NaN", "float('nan')", False),  # not a literal: raw text "float('nan')"
        ("NaN", "NaN", True),
        ("[]", "[]", True),
        ('""', "''", True),
        ("true", "1", False),  # bool is not int here
        ("1", "True", False),
        ("0", "false", False),
        ("4", '"4"', False),
        ('"4"', "4", False),
        ("[1, 2]", "[2, 1]", False),
        ("[1, 2]", "[1, 2, 3]", False),
        ("[[1, 2]]", "[[1, 3]]", False),
        ('{"a": 1}', '{"a": 1, "b": 2}', False),
        ("4.1", "4", False),
        ("null", "0", False),
        ("null", "", False),
    ],
)
def test_value(actual, expected, equal):
    assert check(VALUE, actual, expected) is equal


def test_value_big_integers_compare_exactly():
    big = 10**30
    assert check(VALUE, str(big), str(big))
    assert not check(VALUE, str(big + 1), str(big))
    assert not check(VALUE, str(10**400), "1e308")  # beyond float range: exact only


def test_value_falls_back_to_text_when_actual_is_not_json():
    assert check(VALUE, "not json\n", "not json")
    assert not check(VALUE, "not json", "other")
    digits = "7" * 5000  # past Python's int-string limit, json.loads refuses it
    assert check(VALUE, digits + "\n", digits)


def test_value_deep_nesting_does_not_recurse():
    depth = 900
    text = "[" * depth + "]" * depth
    assert check(VALUE, text, text)


def test_parse_expected_value():
    assert parse_expected_value("(1, 'a', None, True)") == [1, "a", None, True]
    assert parse_expected_value("  [1, 2]\n") == [1, 2]
    assert parse_expected_value("hello world\n") == "hello world"


# --- speed --------------------------------------------------------------------------------------

ONE_MB_LINES = "".join(f"{i} {i * 0.5:.6f}  \n" for i in range(60_000))


@pytest.mark.parametrize("kind", ["default", "exact", "tokens", "float"])
def test_one_megabyte_is_fast(kind):
    assert len(ONE_MB_LINES) > 1_000_000
    expected = ONE_MB_LINES.replace("  \n", "\n")
    started = time.perf_counter()
    result = check(CheckerSpec(kind), ONE_MB_LINES, expected)
    assert time.perf_counter() - started < 0.5
    assert result is (kind != "exact")


def test_one_megabyte_of_differently_written_floats_is_fast():
    actual = "".join(f"{i * 0.5:.6f}\n" for i in range(100_000))
    expected = " ".join(f"{i * 0.5:g}" for i in range(100_000))
    started = time.perf_counter()
    assert check(FLOAT, actual, expected)
    assert time.perf_counter() - started < 0.5
