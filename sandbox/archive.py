"""Additional files: a base64 zip (Judge0's `additional_files`) checked and unpacked on the host.

The archive is read here, before anything runs, and its files travel in the job's `files` map: the
harness writes them into /box from its unprivileged write stage, so no unzip runs in the sandbox and
nothing the archive says can place a file outside the work dir. Entries must be plain files or
directories under relative paths; symlinks, devices, absolute paths, `..`, duplicates and a file
that is also a directory are refused, and the real (decompressed) sizes are capped, not the sizes
the archive claims.
"""

from __future__ import annotations

import base64
import binascii
import io
import stat
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import zipfile

MAX_ARCHIVE_BYTES = 12 * 1024 * 1024  # the decoded zip
MAX_EXTRACT_BYTES = 10 * 1024 * 1024  # every file decompressed (Judge0's MAX_EXTRACT_SIZE, 10240 KB)
MAX_FILES = 128
MAX_PATH_CHARS = 255
MAX_DEPTH = 8
# What reading a hostile zip may raise besides zipfile.BadZipFile.
_READ_ERRORS = (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError)


class ArchiveError(ValueError):
    """The archive is malformed, too large, or holds an entry that may not be unpacked."""


def decode_base64(text: object) -> bytes:
    """Strict base64, tolerant of line breaks (Ruby's Base64.encode64 wraps at 60 columns)."""
    if not isinstance(text, str):
        raise ArchiveError("must be a base64 string")
    compact = "".join(text.split())
    if len(compact) > (MAX_ARCHIVE_BYTES * 4) // 3 + 4:
        raise ArchiveError(f"the archive is over {MAX_ARCHIVE_BYTES} bytes")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArchiveError("is not valid base64") from exc


def read_archive(encoded: object) -> tuple[tuple[str, bytes], ...]:
    """The regular files of a base64 zip as (relative path, content), in archive order."""
    import zipfile  # here, not at module level: it pulls shutil, bz2 and lzma, and most submissions have no archive

    data = decode_base64(encoded)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"the archive is over {MAX_ARCHIVE_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, *_READ_ERRORS) as exc:
        raise ArchiveError(f"is not a zip archive: {exc}") from exc
    files: list[tuple[str, bytes]] = []
    directories: set[str] = set()
    seen: set[str] = set()
    total = 0
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_FILES * 4:  # directories count too, but not without bound
            raise ArchiveError(f"more than {MAX_FILES * 4} entries")
        for info in entries:
            path = entry_path(info.filename)
            kind = _kind(info)
            if path in seen:
                raise ArchiveError(f"{path!r} appears twice")
            seen.add(path)
            parents = _parents(path)
            directories.update(parents)
            if kind == "dir":
                directories.add(path)
                continue
            if len(files) == MAX_FILES:
                raise ArchiveError(f"more than {MAX_FILES} files")
            try:
                with archive.open(info) as member:
                    content = member.read(MAX_EXTRACT_BYTES - total + 1)
            except (zipfile.BadZipFile, *_READ_ERRORS) as exc:
                raise ArchiveError(f"{path!r} cannot be read: {exc}") from exc
            total += len(content)
            if total > MAX_EXTRACT_BYTES:
                raise ArchiveError(f"the files unpack to more than {MAX_EXTRACT_BYTES} bytes")
            files.append((path, content))
    clash = sorted(directories & {path for path, _ in files})
    if clash:
        raise ArchiveError(f"{clash[0]!r} is both a file and a directory")
    return tuple(files)


def entry_path(name: str) -> str:
    """A normalised relative path, or ArchiveError for anything that could leave the work dir."""
    path = name[:-1] if name.endswith("/") else name
    if not path or len(path) > MAX_PATH_CHARS:
        raise ArchiveError(f"entry name {name[:80]!r} is empty or too long")
    if path.startswith("/") or "\\" in path or any(ord(c) < 32 or c == "\x7f" for c in path):
        raise ArchiveError(f"entry name {name[:80]!r} must be a relative path without \\ or control characters")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ArchiveError(f"entry name {name[:80]!r} must not contain empty, '.' or '..' components")
    if len(parts) > MAX_DEPTH:
        raise ArchiveError(f"entry name {name[:80]!r} is nested deeper than {MAX_DEPTH}")
    return path


def _kind(info: zipfile.ZipInfo) -> str:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (e.g. made on Windows)
    if info.is_dir():
        if kind and kind != stat.S_IFDIR:
            raise ArchiveError(f"{info.filename!r} is not a plain directory")
        return "dir"
    if kind and kind != stat.S_IFREG:
        what = "a symlink" if kind == stat.S_IFLNK else "not a plain file"
        raise ArchiveError(f"{info.filename!r} is {what}")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{info.filename!r} is encrypted")
    return "file"


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
