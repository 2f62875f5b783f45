"""Human-readable rendering for the terminal: results, workers, and what `kodewar up` prints."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
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


def pending_text(view: Mapping[str, Any]) -> str:
    """One line for a submission that has no verdict yet (status endpoints answer 202 with this view)."""
    return f"{view.get('submission_id', '?')}: {view['status']['description']} (no verdict yet)"


def workers_text(payload: Mapping[str, Any], now_s: float) -> str:
    """The `GET /api/v1/workers` answer as a table; heartbeat ages use this machine's clock."""
    workers = list(payload.get("workers", []))
    if not workers:
        return "no live worker (start one: `kodewar worker`, or the whole stack: `kodewar up`)"
    rows = [
        [
            str(w.get("worker_id", "?")),
            str(w.get("host", "?")),
            " ".join(w.get("languages", [])) or "-",
            f"{w.get('busy', 0)}/{w.get('slots', 0)}",
            f"{max(0.0, now_s - float(w['last_heartbeat'])):.1f}" if w.get("last_heartbeat") else "-",
        ]
        for w in workers
    ]
    busy = sum(int(w.get("busy", 0)) for w in workers)
    total = int(payload.get("total_slots", sum(int(w.get("slots", 0)) for w in workers)))
    footer = f"{len(workers)} worker(s), {busy}/{total} slots busy"
    return table(rows, ["worker", "host", "languages", "busy/slots", "heartbeat s ago"]) + "\n\n" + footer


# -- what `kodewar up` prints ---------------------------------------------------------------------

SEED_BODY = {
    "code": "def solution(x): return x * 2",
    "language": "python",
    "test_cases": [{"input": "2", "expected": "4"}],
}
DEV_TOKEN_TTL_DAYS = 7  # the lifetime of the token `kodewar up` prints


def seed_curl_example(url: str, token: str) -> str:
    """Ready to paste into bash: submit the seed example, then fetch its status."""
    return (
        f"TOKEN='{token}'\n"
        f'ID=$(curl -s -X POST {url}/api/submit/ -H "Authorization: Bearer $TOKEN" \\\n'
        f"  -H 'Content-Type: application/json' -d '{json.dumps(SEED_BODY)}' \\\n"
        "  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"submission_id\"])')\n"
        f'curl -s "{url}/api/status/?submission_id=$ID" -H "Authorization: Bearer $TOKEN"; echo'
    )


def seed_python_example(url: str, token: str) -> str:
    """The seed's requests example with the token filled in; README.md shows the same code."""
    return f"""import time

import requests

URL = "{url}"
TOKEN = "{token}"
headers = {{"Authorization": "Bearer " + TOKEN}}

answer = requests.post(URL + "/api/submit/", json={json.dumps(SEED_BODY)}, headers=headers)
answer.raise_for_status()
submission_id = answer.json()["submission_id"]
while True:  # status 1 In Queue, 2 Processing; 3 and above is the verdict
    result = requests.get(URL + "/api/status/", params={{"submission_id": submission_id}}, headers=headers).json()
    if result["status"]["id"] > 2:
        break
    time.sleep(0.2)
print(result["status"]["description"], f"{{result['passed']}}/{{result['total']}} tests passed")"""


def up_banner(url: str, token: str, workers: int, slots: int, state_dir: Path) -> str:
    rule = "-" * 72
    return "\n".join(
        [
            f"KodeWar is up: {workers} worker(s) x {slots} slot(s); state and logs in {state_dir}",
            "",
            f"URL:   {url}",
            f"Token: {token}",
            f"       (subject dev, scopes submit,read, valid {DEV_TOKEN_TTL_DAYS} days)",
            "",
            "For the kodewar client (kodewar submit, status, workers):",
            f"export KODEWAR_URL={url}",
            f"export KODEWAR_TOKEN='{token}'",
            "",
            "The seed example with curl (run the last line again while its status is 1 or 2):",
            rule,
            seed_curl_example(url, token),
            rule,
            "",
            "The same with Python requests:",
            rule,
            seed_python_example(url, token),
            rule,
            "",
            "Press Ctrl-C to stop.",
        ]
    )
