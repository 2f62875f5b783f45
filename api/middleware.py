"""Cross-cutting concerns: authentication by route scope, and request metrics."""

from __future__ import annotations

import time
from typing import Any

import falcon

from api import errors
from api.auth import AuthError, TokenAuthority, bearer_token
from api.metrics import ApiMetrics


class AuthMiddleware:
    """A resource declares `scopes = {"GET": "read", ...}`; methods it lists need a token with that scope."""

    def __init__(self, authority: TokenAuthority) -> None:
        self.authority = authority

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        req.context.principal = None
        scope = getattr(resource, "scopes", {}).get(req.method)
        if scope is None:
            return
        try:
            principal = self.authority.verify(bearer_token(req.get_header("Authorization")))
        except AuthError as exc:
            raise errors.unauthorized(str(exc)) from exc
        if not principal.allows(scope):
            raise errors.forbidden(f"this needs the '{scope}' scope")
        req.context.principal = principal


class MetricsMiddleware:
    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        route = req.uri_template or "unmatched"
        status = (resp.status or "200").split(" ")[0] if isinstance(resp.status, str) else str(resp.status)
        self.metrics.requests.labels(req.method, route, status).inc()
        started = getattr(req.context, "started", None)
        if started is not None:
            self.metrics.latency.labels(req.method, route).observe(time.perf_counter() - started)
