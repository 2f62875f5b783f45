"""Resource limits for one run, with Judge0-like defaults and maxima an operator can change."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

MAX_LIMIT_VALUE = 2**53  # larger integers are no limit any request could mean


class LimitError(ValueError):
    """A requested limit is malformed or above its maximum; ``field`` names it for the client."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Limits:
    cpu_time_s: float = 5.0
    wall_time_s: float = 10.0
    memory_mb: int = 128
    stack_mb: int = 64
    max_processes: int = 60
    max_file_size_kib: int = 1024
    max_output_kib: int = 1024  # per stream of one test; more is Output Limit Exceeded
    max_open_files: int = 64
    # CPU seconds granted beyond cpu_time_s before the kill, so the real time of a slow program is
    # measured (Judge0's cpu_extra_time, isolate's -x); the verdict is still judged at cpu_time_s.
    cpu_extra_time_s: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


JUDGE0_DEFAULTS = Limits()
JUDGE0_MAXIMA = Limits(
    cpu_time_s=15.0,
    wall_time_s=20.0,
    memory_mb=512,
    stack_mb=128,
    max_processes=120,
    max_file_size_kib=4096,
    max_output_kib=4096,
    max_open_files=256,
    cpu_extra_time_s=5.0,
)
# Compilers run at the maxima (as Judge0 does) but need room for their own files and memory.
COMPILE_LIMITS = Limits(
    cpu_time_s=15.0,
    wall_time_s=20.0,
    memory_mb=1024,
    stack_mb=128,
    max_processes=120,
    max_file_size_kib=64 * 1024,
    max_output_kib=64,
    max_open_files=256,
)
# Floors below which no program of any language can start; a request under them is refused.
MINIMA = Limits(
    cpu_time_s=0.05,
    wall_time_s=0.1,
    memory_mb=16,
    stack_mb=1,
    max_processes=1,
    max_file_size_kib=1,
    max_output_kib=1,
    max_open_files=8,
    cpu_extra_time_s=0.0,
)


@dataclass(frozen=True)
class LimitPolicy:
    """What a request may ask for: it gets ``defaults`` for what it leaves out, never more than ``maxima``."""

    defaults: Limits = JUDGE0_DEFAULTS
    maxima: Limits = JUDGE0_MAXIMA
    compile: Limits = COMPILE_LIMITS

    def resolve(self, requested: Mapping[str, object] | None) -> Limits:
        """Merge a request's limits over the defaults; raises LimitError naming the first bad field."""
        if not requested:
            return self.defaults
        names = {f.name: f for f in fields(Limits)}
        values: dict[str, float | int] = {}
        for name, raw in requested.items():
            if raw is None:
                continue
            if name not in names:
                raise LimitError(name, f"unknown limit; known: {', '.join(names)}")
            values[name] = _number(name, raw, integer=names[name].type in (int, "int"))
        limits = replace(self.defaults, **values)  # type: ignore[arg-type]
        for name in values:
            value, low, high = (getattr(x, name) for x in (limits, MINIMA, self.maxima))
            if value < low:
                raise LimitError(name, f"{value} is below the minimum {low}")
            if value > high:
                raise LimitError(name, f"{value} is above the maximum {high}")
        return limits


def _number(name: str, raw: object, *, integer: bool) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise LimitError(name, "must be a number")
    if isinstance(raw, int) and abs(raw) > MAX_LIMIT_VALUE:  # math.isfinite overflows on huge ints
        raise LimitError(name, "is out of range")
    if not math.isfinite(raw):
        raise LimitError(name, "must be finite")
    if integer:
        if raw != int(raw):
            raise LimitError(name, "must be a whole number")
        return int(raw)
    return float(raw)
