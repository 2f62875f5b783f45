"""The Falcon app factory. gunicorn serves `kodewar.wiring:api_app()`, which builds its dependencies."""

from __future__ import annotations

from dataclasses import dataclass

import falcon

from api import errors, judge0, piston
from api.auth import TokenAuthority
from api.metrics import ApiMetrics, MetricsResource, QueueCollector
from api.middleware import AuthMiddleware, MetricsMiddleware
from api.openapi import OpenAPIResource
from api.resources import Batch, Health, Languages, Ready, SeedStatus, SeedSubmit, Statuses, Submissions, Workers
from api.service import SubmissionService


@dataclass
class Dependencies:
    service: SubmissionService
    authority: TokenAuthority
    metrics: ApiMetrics


def create_app(deps: Dependencies) -> falcon.App:
    service = deps.service
    app = falcon.App(
        middleware=[MetricsMiddleware(deps.metrics), AuthMiddleware(deps.authority)],  # type: ignore[arg-type]
        cors_enable=False,
    )
    app.req_options.strip_url_path_trailing_slash = False
    errors.install(app)
    submissions = Submissions(service)
    app.add_route("/api/v1/submissions", submissions)
    app.add_route("/api/v1/submissions/batch", Batch(service))
    app.add_route("/api/v1/submissions/{submission_id}", submissions, suffix="one")
    app.add_route("/api/v1/languages", Languages(service.registry))
    app.add_route("/api/v1/statuses", Statuses())
    app.add_route("/api/v1/workers", Workers(service.store))
    app.add_route("/api/submit/", SeedSubmit(service))
    app.add_route("/api/status/", SeedStatus(service))
    app.add_route("/healthz", Health())
    app.add_route("/readyz", Ready(service.store))
    collector = QueueCollector(service.store, service.queue, list(service.registry))
    app.add_route("/metrics", MetricsResource(deps.metrics, collector))
    app.add_route("/openapi.json", OpenAPIResource(service))
    judge0.add_routes(app, service, deps.authority)  # /judge0/...: Judge0 CE 1.13.1's API
    piston.add_routes(app, service, deps.authority)  # /api/v2/...: Piston's
    return app
