"""Judge0's error bodies, which its clients parse: 422 `{"field": ["message"]}`, others `{"error": "..."}`.

Native errors raised by the shared pipeline (validation, rate limit, queue, auth) are translated here,
so a Judge0 client never sees the native `{"error": code, "message": ...}` shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon

from api import errors
from api.auth import AuthError
from api.judge0.request import FieldErrors, judge0_field
from api.judge0.view import InvalidFields

QUEUE_FULL = "queue is full"  # Judge0's 503 body


class Judge0Error(errors.APIError):
    """An HTTP error whose JSON body is exactly ``body``."""

    def __init__(self, status: str, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, "judge0", "", headers=headers)
        self.body = body

    def to_dict(self, obj_type: type = dict) -> Any:  # type: ignore[override]
        return self.body


def bad_request(message: str) -> Judge0Error:
    return Judge0Error(falcon.HTTP_400, {"error": message})


def not_found() -> Judge0Error:
    return Judge0Error(falcon.HTTP_404, {"error": "Not Found"})


def unprocessable(field_errors: dict[str, list[str]]) -> Judge0Error:
    return Judge0Error(falcon.HTTP_422, field_errors)


def field_errors_of(exc: errors.APIError) -> dict[str, list[str]]:
    """A native 422 ("limits.memory_mb: 600 is above the maximum 512") as Judge0 field errors."""
    native = str(exc.extra.get("field") or "")
    text = exc.description or ""
    if native and text.startswith(native + ": "):
        text = text[len(native) + 2 :]
    return {judge0_field(native): [text]}


def translate(exc: errors.APIError) -> Judge0Error:
    if isinstance(exc, Judge0Error):
        return exc
    headers = dict(exc.headers or {})
    if exc.status == falcon.HTTP_422:
        return unprocessable(field_errors_of(exc))
    if exc.status == falcon.HTTP_404:
        return not_found()
    if exc.status == falcon.HTTP_503 and "queue is full" in (exc.description or ""):
        return Judge0Error(falcon.HTTP_503, {"error": QUEUE_FULL}, headers)
    return Judge0Error(str(exc.status), {"error": exc.description or exc.title or "error"}, headers)


@contextmanager
def judge0_errors() -> Iterator[None]:
    """Every error a Judge0 responder raises leaves in Judge0's shape."""
    try:
        yield
    except FieldErrors as exc:
        raise unprocessable(exc.errors) from exc
    except InvalidFields as exc:
        raise bad_request(str(exc)) from exc
    except AuthError as exc:
        header = {"WWW-Authenticate": 'Bearer realm="kodewar"'}
        raise Judge0Error(falcon.HTTP_401, {"error": str(exc)}, header) from exc
    except PermissionError as exc:
        raise Judge0Error(falcon.HTTP_403, {"error": str(exc)}) from exc
    except errors.APIError as exc:
        raise translate(exc) from exc
