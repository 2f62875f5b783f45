"""The OpenAPI 3 document of what this app serves (placeholder until the full schemas land)."""

from __future__ import annotations

from typing import Any

import falcon

from api.service import SubmissionService


def build_document(service: SubmissionService) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "KodeWar API", "version": "0.1.0"}, "paths": {}}


class OpenAPIResource:
    def __init__(self, service: SubmissionService) -> None:
        self.document = build_document(service)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
