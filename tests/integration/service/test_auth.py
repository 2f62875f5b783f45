"""JWT checks at the real API: every refusal is JSON, 401 for a bad token, 403 for a missing scope,
and one user's submissions are invisible (404) to another unless the caller is an admin."""

from __future__ import annotations

import time

import pytest
import requests

from api.auth import TokenAuthority
from kodewar.settings import load_settings
from kodewar.stack import LocalStack
from kodewar.wiring import token_authority
from tests.integration.service.conftest import ClientFactory
from tests.integration.service.support import SEED, Client

FOREIGN_SECRET = b"not-the-server-key-but-long-enough-for-hs256!"
TOKEN_TTL_S = 600
EXPIRED_AGO_S = 3600  # far beyond the API's clock-skew leeway


def authority(stack: LocalStack, **overrides: str) -> TokenAuthority:
    settings = load_settings(stack.child_env())
    if not overrides:
        return token_authority(settings)
    return TokenAuthority(
        settings.jwt_secret(),
        overrides.get("issuer", settings.jwt_issuer),
        overrides.get("audience", settings.jwt_audience),
    )


def assert_json_error(response: requests.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text
    return dict(body)


@pytest.fixture(scope="module")
def owned(client: ClientFactory) -> str:
    """A finished submission of user alice."""
    response = client("alice").post("/api/v1/submissions", SEED, wait="true")
    assert response.status_code == 200, response.text
    return str(response.json()["submission_id"])


def bad_tokens(stack: LocalStack) -> dict[str, str]:
    good = authority(stack)
    return {
        "bad signature": TokenAuthority(FOREIGN_SECRET).issue("alice", ["submit", "read"], TOKEN_TTL_S),
        "tampered": good.issue("alice", ["submit", "read"], TOKEN_TTL_S)[:-4] + "AAAA",
        "expired": good.issue("alice", ["submit", "read"], 60, now=time.time() - EXPIRED_AGO_S),
        "wrong audience": authority(stack, audience="someone-else").issue("alice", ["submit", "read"], TOKEN_TTL_S),
        "wrong issuer": authority(stack, issuer="mallory").issue("alice", ["submit", "read"], TOKEN_TTL_S),
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize("kind", ["bad signature", "tampered", "expired", "wrong audience", "wrong issuer", "garbage"])
def test_bad_token_is_401_json(stack: LocalStack, owned: str, kind: str) -> None:
    api = Client(stack.url, bad_tokens(stack)[kind])
    for response in (
        api.post("/api/submit/", SEED),
        api.post("/api/v1/submissions", SEED),
        api.get("/api/status/", submission_id=owned),
        api.get(f"/api/v1/submissions/{owned}"),
    ):
        body = assert_json_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if kind == "expired":
            assert "expired" in str(body["message"])


def test_missing_token_is_401_json(stack: LocalStack, owned: str) -> None:
    api = Client(stack.url, None)
    assert_json_error(api.post("/api/submit/", SEED), 401, "unauthorized")
    assert_json_error(api.get("/api/status/", submission_id=owned), 401, "unauthorized")
    assert_json_error(api.get("/api/v1/workers"), 401, "unauthorized")
    basic = requests.get(f"{stack.url}/api/v1/submissions/{owned}", headers={"Authorization": "Basic YTpi"}, timeout=5)
    assert_json_error(basic, 401, "unauthorized")


def test_missing_scope_is_403_json(client: ClientFactory, owned: str) -> None:
    reader = client("alice", ("read",))
    assert_json_error(reader.post("/api/submit/", SEED), 403, "forbidden")
    assert_json_error(reader.post("/api/v1/submissions/batch", {"submissions": [SEED]}), 403, "forbidden")
    submitter = client("alice", ("submit",))
    assert_json_error(submitter.get("/api/status/", submission_id=owned), 403, "forbidden")
    assert_json_error(submitter.get(f"/api/v1/submissions/{owned}"), 403, "forbidden")
    assert reader.get(f"/api/v1/submissions/{owned}").status_code == 200


def test_other_subjects_submission_is_404_but_admin_sees_it(client: ClientFactory, owned: str) -> None:
    bob = client("bob")
    assert_json_error(bob.get(f"/api/v1/submissions/{owned}"), 404, "not_found")
    assert_json_error(bob.get("/api/status/", submission_id=owned), 404, "not_found")
    batch = bob.get("/api/v1/submissions/batch", ids=owned)
    assert batch.status_code == 200 and batch.json()["submissions"] == [None]

    admin = client("root", ("admin",))
    seen = admin.get(f"/api/v1/submissions/{owned}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["submission_id"] == owned
    assert seen.json()["status"]["id"] == 3
    assert admin.get("/api/status/", submission_id=owned).status_code == 200
    assert client("alice").get(f"/api/v1/submissions/{owned}").status_code == 200
