"""Piston v2's routes: `GET /api/v2/runtimes` (public) and `POST /api/v2/execute` (scope `submit`).

Execute is synchronous as in Piston: the submission goes through the native pipeline and the answer
is written when the store announces the result, waiting at most the compile and run limits plus a
queueing grace. Errors are Piston's `{"message": ...}`; a result still pending at the bound is a 504
naming the submission, which the native API can then fetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import falcon

from api import compat, errors
from api.auth import AuthError, TokenAuthority
from api.piston.request import PistonError, translate
from api.piston.runtimes import Runtime, runtimes
from api.piston.view import response
from api.resources import read_json
from api.service import SubmissionService

PREFIX = "/api/v2"
MAX_WAIT_S = 60.0  # below gunicorn's worker timeout (75 s)
JSON_ONLY = "requests must be of type application/json"


class PistonHTTPError(errors.APIError):
    """An HTTP error with Piston's body, `{"message": ...}`."""

    def __init__(self, status: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, "piston", message, headers=headers)

    def to_dict(self, obj_type: type = dict) -> dict[str, str]:  # type: ignore[override]
        return {"message": self.description or ""}


@contextmanager
def piston_errors() -> Iterator[None]:
    try:
        yield
    except PistonError as exc:
        raise PistonHTTPError(falcon.HTTP_400, str(exc)) from exc
    except AuthError as exc:
        raise PistonHTTPError(falcon.HTTP_401, str(exc), {"WWW-Authenticate": 'Bearer realm="kodewar"'}) from exc
    except PermissionError as exc:
        raise PistonHTTPError(falcon.HTTP_403, str(exc)) from exc
    except PistonHTTPError:
        raise
    except errors.APIError as exc:
        status = falcon.HTTP_400 if exc.status == falcon.HTTP_422 else str(exc.status)  # Piston: 400 for bad input
        message = JSON_ONLY if exc.status == falcon.HTTP_415 else exc.description or str(exc.title)
        raise PistonHTTPError(status, message, dict(exc.headers or {})) from exc


class Runtimes:
    def __init__(self, available: list[Runtime]) -> None:
        self.body = [runtime.as_dict() for runtime in available]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body


class Execute:
    def __init__(self, service: SubmissionService, authority: TokenAuthority, available: list[Runtime]) -> None:
        self.service = service
        self.authority = authority
        self.available = available

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        with piston_errors():
            caller = compat.principal(req, self.authority, "submit")
            execution = translate(read_json(req, self.service.api.max_body_bytes), self.available, self.service.policy)
            (record,) = self.service.submit_many(caller, [execution.body], compat=[{"piston": {}}])
            record = compat.wait_finished(self.service, record, min(execution.budget_s, MAX_WAIT_S))
            if not record.status.finished:
                raise PistonHTTPError(
                    falcon.HTTP_504,
                    f"the job did not finish within {min(execution.budget_s, MAX_WAIT_S):.0f} s; it is submission "
                    f"{record.id} (GET /api/v1/submissions/{record.id})",
                )
        resp.media = response(record, execution.runtime)


def add_routes(app: falcon.App, service: SubmissionService, authority: TokenAuthority) -> None:
    available = runtimes(service.registry)
    app.add_route(PREFIX + "/runtimes", Runtimes(available))
    app.add_route(PREFIX + "/execute", Execute(service, authority, available))
