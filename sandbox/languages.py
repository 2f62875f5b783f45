"""The declarative language registry (``languages.toml``) and its loader."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_PATH = Path(__file__).with_name("languages.toml")
IMAGES_DIR = Path(__file__).with_name("images")
FUNCTION_MODES = ("python", "javascript")
FORK_SERVERS = ("python",)  # interpreters that can run each test as a fork of one started interpreter


class RegistryError(ValueError):
    """The registry file is malformed: a developer error, reported with the offending entry."""


@dataclass(frozen=True)
class Language:
    key: str
    name: str
    version: str
    source: str
    run: tuple[str, ...]
    compile: tuple[str, ...] = ()
    exec_box: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    function: str | None = None
    fork_server: str | None = None
    memory_overhead_mb: int = 0
    oom_patterns: tuple[str, ...] = ()

    @property
    def compiled(self) -> bool:
        return bool(self.compile)

    @property
    def dockerfile(self) -> Path:
        return IMAGES_DIR / self.key / "Dockerfile"

    def image(self, prefix: str) -> str:
        """Image reference under the configured prefix, e.g. ``localhost/kodewar/python:latest``."""
        return f"{prefix}/{self.key}:latest"

    def argv(self, template: tuple[str, ...], **values: object) -> list[str]:
        subst = {"source": self.source, **{k: str(v) for k, v in values.items()}}
        return [part.format_map(subst) for part in template]

    def is_oom(self, stderr: str) -> bool:
        return any(re.search(p, stderr) for p in self.oom_patterns)


def _language(key: str, raw: Mapping[str, object]) -> Language:
    known = set(Language.__dataclass_fields__) - {"key"}
    unknown = set(raw) - known
    if unknown:
        raise RegistryError(f"language {key!r}: unknown keys {sorted(unknown)}")
    missing = {"name", "version", "source", "run"} - set(raw)
    if missing:
        raise RegistryError(f"language {key!r}: missing keys {sorted(missing)}")
    values = dict(raw)
    for name in ("run", "compile", "oom_patterns"):
        if name in values:
            values[name] = tuple(values[name])  # type: ignore[arg-type]
    if values.get("function") not in (None, *FUNCTION_MODES):
        raise RegistryError(f"language {key!r}: function must be one of {FUNCTION_MODES}")
    if values.get("fork_server") not in (None, *FORK_SERVERS):
        raise RegistryError(f"language {key!r}: fork_server must be one of {FORK_SERVERS}")
    if values.get("fork_server") and "{source}" not in values["run"]:  # type: ignore[operator]
        raise RegistryError(f"language {key!r}: a fork server needs {{source}} in run")
    for pattern in values.get("oom_patterns", ()):  # type: ignore[attr-defined]
        re.compile(pattern)
    return Language(key=key, **values)  # type: ignore[arg-type]


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, Language]:
    """Read the registry; raises RegistryError naming the bad entry."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc
    return {key: _language(key, raw) for key, raw in data.items()}
