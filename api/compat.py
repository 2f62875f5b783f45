"""What the Judge0 and Piston translation layers share: token lookup, waiting and file bundling.

The compat APIs run on the native pipeline (SubmissionService: validation, rate limit, queue, store);
only the request and response shapes differ. Their resources authenticate by themselves because
their clients send the token where those systems expect it (Judge0's `X-Auth-Token`).
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterable

import falcon

from actors.store import Record
from api.auth import AuthError, Principal, TokenAuthority
from api.service import SubmissionService

# Where the compat APIs are mounted; their contracts are Judge0's and Piston's own documents (and
# docs/compatibility.md), not KodeWar's OpenAPI document.
COMPAT_PREFIXES = ("/judge0/", "/api/v2/")
AUTH_TOKEN_HEADER = "X-Auth-Token"  # Judge0's header (AUTHN_HEADER default)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same files always make the same archive


def principal(req: falcon.Request, authority: TokenAuthority, scope: str) -> Principal:
    """The caller of a compat route: a JWT in `Authorization: Bearer` or in `X-Auth-Token`.

    Raises AuthError (no or bad token) or PermissionError (the token lacks the scope)."""
    token = _token(req)
    found = authority.verify(token)
    if not found.allows(scope):
        raise PermissionError(f"this needs the '{scope}' scope")
    return found


def _token(req: falcon.Request) -> str:
    header = req.get_header("Authorization")
    if header:
        kind, _, value = header.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            return value.strip()
    value = (req.get_header(AUTH_TOKEN_HEADER) or "").strip()
    kind, _, rest = value.partition(" ")
    if kind.lower() == "bearer" and rest.strip():  # some clients prefix it here too
        value = rest.strip()
    if not value:
        raise AuthError(f"send a token as 'Authorization: Bearer <token>' or '{AUTH_TOKEN_HEADER}: <token>'")
    return value


def wait_finished(service: SubmissionService, record: Record, seconds: float) -> Record:
    """Block until the record is finished, by the store's notification, for at most `seconds`.

    Unlike SubmissionService.wait this is not capped at the long-poll maximum: Piston's execute is
    synchronous and its bound is the run's own limits."""
    if record.status.finished or seconds <= 0:
        return record
    return service.store.wait_finished(record.id, seconds) or record


def zip_base64(files: Iterable[tuple[str, bytes]]) -> str:
    """A deterministic zip of (path, content), base64: the native `additional_files` value."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return base64.b64encode(buffer.getvalue()).decode()
