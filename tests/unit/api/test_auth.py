"""Bearer JWTs: what is refused (401 with WWW-Authenticate, JSON body) and what scopes allow (403)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from api.auth import ALGORITHM
from tests.unit.api.fakes import SECRET, Harness

SEED = {"code": "def solution(x): return x * 2", "language": "python", "test_cases": [{"input": "2", "expected": "4"}]}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "alice",
        "scope": "submit read",
        "iat": now,
        "exp": now + 600,
        "iss": "kodewar",
        "aud": "kodewar-api",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: bytes = SECRET, algorithm: str = ALGORITHM) -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def get_workers(harness: Harness, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return harness.client.simulate_get("/api/v1/workers", headers=headers)


def assert_unauthorized(result: Any, says: str = "") -> None:
    assert result.status_code == 401
    assert result.headers["WWW-Authenticate"] == 'Bearer realm="kodewar"'
    assert result.headers["Content-Type"].startswith("application/json")
    assert result.json["error"] == "unauthorized"
    assert says in result.json["message"]


def test_a_valid_token_is_accepted(harness: Harness) -> None:
    assert get_workers(harness, f"Bearer {sign(claims())}").status_code == 200


def test_missing_header(harness: Harness) -> None:
    assert_unauthorized(get_workers(harness, None), "missing Authorization")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc", "bearer-abc"])
def test_not_a_bearer_header(harness: Harness, header: str) -> None:
    assert_unauthorized(get_workers(harness, header))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_malformed_token(harness: Harness, token: str) -> None:
    assert_unauthorized(get_workers(harness, f"Bearer {token}"), "invalid token")


def test_expired_token(harness: Harness) -> None:
    past = int(time.time()) - 3600
    assert_unauthorized(get_workers(harness, f"Bearer {sign(claims(iat=past - 60, exp=past))}"), "expired")


def test_wrong_signing_key(harness: Harness) -> None:
    forged = sign(claims(), key=b"another-secret-that-is-also-long-enough!!")
    assert_unauthorized(get_workers(harness, f"Bearer {forged}"), "invalid token")


def test_alg_none_is_refused(harness: Harness) -> None:
    unsigned = jwt.encode(claims(scope="admin"), None, algorithm="none")  # type: ignore[arg-type]
    assert_unauthorized(get_workers(harness, f"Bearer {unsigned}"), "invalid token")


def test_hs512_with_the_right_key_is_refused(harness: Harness) -> None:
    """The algorithm is pinned: a token signed otherwise fails even with the real secret."""
    other = sign(claims(), algorithm="HS512")
    assert_unauthorized(get_workers(harness, f"Bearer {other}"), "invalid token")


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "iss", "sub"])
def test_each_required_claim_missing_is_refused(harness: Harness, claim: str) -> None:
    assert_unauthorized(get_workers(harness, f"Bearer {sign(claims(**{claim: None}))}"), claim)


@pytest.mark.parametrize("override", [{"aud": "someone-else"}, {"iss": "evil"}, {"sub": ""}, {"scope": 7}])
def test_wrong_audience_issuer_subject_or_scope_claim(harness: Harness, override: dict[str, Any]) -> None:
    assert_unauthorized(get_workers(harness, f"Bearer {sign(claims(**override))}"), "invalid token")


def test_a_token_issued_in_the_future_is_refused(harness: Harness) -> None:
    later = int(time.time()) + 3600
    assert_unauthorized(get_workers(harness, f"Bearer {sign(claims(iat=later, exp=later + 600))}"))


def test_missing_scope_is_forbidden(harness: Harness) -> None:
    read_only = harness.auth(scopes=("read",))
    denied = harness.client.simulate_post("/api/v1/submissions", json=SEED, headers=read_only)
    assert denied.status_code == 403
    assert denied.json == {"error": "forbidden", "message": "this needs the 'submit' scope"}
    assert harness.store.records == {} and harness.dispatcher.sent == []
    submit_only = harness.auth(scopes=("submit",))
    assert harness.client.simulate_get("/api/v1/workers", headers=submit_only).status_code == 403
    assert (
        harness.client.simulate_get("/api/status/", params={"submission_id": "x"}, headers=submit_only).status_code
        == 403
    )


def test_unknown_scopes_grant_nothing(harness: Harness) -> None:
    token = sign(claims(scope="root superuser"))
    assert get_workers(harness, f"Bearer {token}").status_code == 403


def test_admin_implies_every_scope(harness: Harness) -> None:
    admin = harness.auth("root", scopes=("admin",))
    assert harness.client.simulate_post("/api/v1/submissions", json=SEED, headers=admin).status_code == 202
    assert harness.client.simulate_get("/api/v1/workers", headers=admin).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/languages", "/api/v1/statuses", "/openapi.json", "/metrics"])
def test_public_routes_need_no_token(harness: Harness, path: str) -> None:
    assert harness.client.simulate_get(path).status_code == 200


def test_auth_is_checked_before_the_body_is_read(harness: Harness) -> None:
    """An anonymous client learns nothing about validation: 401, not 400/415/422."""
    result = harness.client.simulate_post(
        "/api/v1/submissions", body="{not json", headers={"Content-Type": "text/plain"}
    )
    assert_unauthorized(result)
