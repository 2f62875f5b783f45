"""Command-line arguments and compiler options: lists of argv entries, never shell text.

Both are checked before anything runs. Arguments reach only the user's own program, so any text is
fine. Compiler options are held to a conservative character set and must not make the compiler load
or run another program (plugins, wrappers, linkers, annotation processors): that would run code at
the compile stage's larger limits instead of the run's.
"""

from __future__ import annotations

import re

MAX_ARGS = 64
MAX_ARGS_CHARS = 8192  # all arguments together
MAX_COMPILER_OPTIONS = 32
MAX_COMPILER_OPTIONS_CHARS = 1024
COMPILER_OPTION = re.compile(r"[A-Za-z0-9_+=:,./-]{1,256}")
# Options that load or run another program, or move the output the run stage expects.
_DENIED_OPTION = re.compile(
    r"-B.*|-wrapper|-fplugin.*|-iplugindir.*|--?specs.*|-fuse-ld.*|--ld-path.*|-o|-o.+|--output.*"
    r"|-W[lap],.*|-X(?:linker|assembler|preprocessor)|-toolexec.*|-exec|-compiler.*|-processor.*"
    r"|--processor-.*|-J.*|-Xplugin.*|-Z.*|.*(?:linker|link-args?|extld|plugin).*"
)


class ExtrasError(ValueError):
    """Arguments or compiler options a submission may not carry; the message says why."""


def command_line_arguments(value: object) -> tuple[str, ...]:
    """Arguments appended to the run's argv; None means none."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ExtrasError("must be a list of strings")
    if len(value) > MAX_ARGS:
        raise ExtrasError(f"at most {MAX_ARGS} arguments")
    if sum(len(a) for a in value) > MAX_ARGS_CHARS:
        raise ExtrasError(f"at most {MAX_ARGS_CHARS} characters in all")
    if any("\x00" in a for a in value):
        raise ExtrasError("must not contain NUL characters")
    return tuple(value)


def compiler_options(value: object) -> tuple[str, ...]:
    """Options inserted before the source in the compile argv; None means none."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ExtrasError("must be a list of strings")
    if len(value) > MAX_COMPILER_OPTIONS:
        raise ExtrasError(f"at most {MAX_COMPILER_OPTIONS} options")
    if sum(len(o) for o in value) > MAX_COMPILER_OPTIONS_CHARS:
        raise ExtrasError(f"at most {MAX_COMPILER_OPTIONS_CHARS} characters in all")
    for option in value:
        if not COMPILER_OPTION.fullmatch(option):
            raise ExtrasError(f"{option!r}: only letters, digits and _ + = : , . / - are allowed")
        if _DENIED_OPTION.fullmatch(option):
            raise ExtrasError(f"{option!r} is not allowed: it would load or run another program or move the output")
    return tuple(value)
