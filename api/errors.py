"""JSON errors: every client mistake gets a 4xx with a body naming the problem, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import falcon

from actors.store import StoreUnavailable

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}


class APIError(falcon.HTTPError):
    """An HTTPError whose JSON body is {"error", "message", ...}."""

    def __init__(
        self, status: str, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(status, title=code, description=message, headers=headers)
        self.extra = extra

    def to_dict(self, obj_type: type = dict) -> dict[str, Any]:  # type: ignore[override]
        return error_body(self.title or "error", self.description or "", **self.extra)


def unauthorized(message: str) -> APIError:
    return APIError(falcon.HTTP_401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="kodewar"'})


def forbidden(message: str) -> APIError:
    return APIError(falcon.HTTP_403, "forbidden", message)


def not_found(message: str = "no such submission") -> APIError:
    return APIError(falcon.HTTP_404, "not_found", message)


def invalid(field: str, message: str) -> APIError:
    return APIError(falcon.HTTP_422, "invalid", f"{field}: {message}", field=field)


def bad_request(message: str) -> APIError:
    return APIError(falcon.HTTP_400, "bad_request", message)


def unavailable(message: str, retry_after_s: int = 5) -> APIError:
    return APIError(falcon.HTTP_503, "unavailable", message, headers={"Retry-After": str(retry_after_s)})


def too_many(message: str, retry_after_s: int) -> APIError:
    return APIError(falcon.HTTP_429, "rate_limited", message, headers={"Retry-After": str(max(1, retry_after_s))})


def serialize(req: falcon.Request, resp: falcon.Response, exception: falcon.HTTPError) -> None:
    body = (
        exception.to_dict()
        if isinstance(exception, APIError)
        else error_body(
            (exception.title or "error").lower().replace(" ", "_"), exception.description or exception.title or ""
        )
    )
    resp.media = body
    resp.content_type = falcon.MEDIA_JSON


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize)

    def store_down(req: falcon.Request, resp: falcon.Response, exc: StoreUnavailable, params: dict[str, Any]) -> None:
        log.warning("store unavailable: %s", exc)
        raise unavailable("the submission store is unavailable; retry shortly")

    def unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
        if isinstance(exc, falcon.HTTPError):
            raise exc
        log.exception("unhandled error on %s %s", req.method, req.path)
        raise APIError(falcon.HTTP_500, "internal", "internal error; it has been logged")

    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(StoreUnavailable, store_down)
