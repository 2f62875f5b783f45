"""Human-readable rendering of results for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PREVIEW_CHARS = 40


def _preview(text: str) -> str:
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def result_text(result: Mapping[str, Any]) -> str:
    """The per-test table plus the overall verdict, from a result dict (sandbox or API)."""
    out: list[str] = []
    if result.get("compile_output"):
        out += ["compile output:", str(result["compile_output"]).rstrip(), ""]
    rows = [
        [
            str(t["index"] + 1),
            t["status"]["description"],
            f"{t['time']:.3f}",
            f"{t['wall_time']:.3f}",
            f"{t['memory'] / 1024:.1f}",
            "" if t["exit_code"] is None else str(t["exit_code"]),
            _preview(t["stdout"]),
        ]
        for t in result.get("tests", [])
    ]
    if rows:
        out.append(table(rows, ["test", "status", "cpu s", "wall s", "mem MiB", "exit", "stdout"]))
    for t in result.get("tests", []):
        if t["status"]["id"] not in (3, 17) and t.get("stderr"):
            out += ["", f"test {t['index'] + 1} stderr:", str(t["stderr"]).rstrip()[-2000:]]
    message = f" ({result['message']})" if result.get("message") else ""
    out += ["", f"{result['status']['description']}: {result['passed']}/{result['total']} passed{message}"]
    return "\n".join(out)
