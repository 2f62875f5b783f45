"""JWT bearer tokens (PyJWT): algorithm pinned, exp/iat/sub/aud/iss required, scopes checked per route."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

SCOPES = frozenset({"submit", "read", "admin"})
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
LEEWAY_S = 10  # clock skew tolerated between token issuer and API hosts


class AuthError(Exception):
    """Missing, malformed, expired or otherwise unacceptable token (401)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or self.is_admin

    def can_see(self, owner: str) -> bool:
        return self.is_admin or owner == self.subject


class TokenAuthority:
    def __init__(self, secret: bytes, issuer: str = "kodewar", audience: str = "kodewar-api") -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.issuer = issuer
        self.audience = audience

    def issue(self, subject: str, scopes: Iterable[str], ttl_s: int, now: float | None = None) -> str:
        scopes = sorted(set(scopes))
        unknown = set(scopes) - SCOPES
        if unknown:
            raise ValueError(f"unknown scope(s) {sorted(unknown)}; known: {sorted(SCOPES)}")
        if not subject:
            raise ValueError("the subject must not be empty")
        issued = int(now if now is not None else time.time())
        claims = {
            "sub": subject,
            "scope": " ".join(scopes),
            "iat": issued,
            "exp": issued + int(ttl_s),
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        subject = claims.get("sub")
        scope = claims.get("scope", "")
        if not isinstance(subject, str) or not subject or not isinstance(scope, str):
            raise AuthError("invalid token: bad sub or scope claim")
        return Principal(subject, frozenset(scope.split()) & SCOPES)


def bearer_token(header: str | None) -> str:
    if not header:
        raise AuthError("missing Authorization header (Bearer token)")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <token>'")
    return token.strip()
