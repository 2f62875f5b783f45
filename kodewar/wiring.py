"""The composition root: build the API's and the worker's object graphs from Settings."""

from __future__ import annotations

import os
import secrets

import falcon

from actors.broker import create_broker, redis_client
from actors.dispatch import Dispatcher
from actors.store import SubmissionStore
from actors.worker import WorkerOptions, WorkerRuntime
from api.app import Dependencies, create_app
from api.auth import TokenAuthority
from api.metrics import ApiMetrics
from api.service import SubmissionService
from kodewar.settings import Settings, load_settings
from sandbox.languages import load_registry
from sandbox.podman_api import PodmanAPI

SECRET_BYTES = 48


def ensure_secret(path: str) -> bool:
    """Create a random signing key file (0600) unless one exists; True when it was created."""
    if os.path.exists(path):
        return False
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(SECRET_BYTES) + "\n")
    return True


def token_authority(settings: Settings) -> TokenAuthority:
    return TokenAuthority(settings.jwt_secret(), settings.jwt_issuer, settings.jwt_audience)


def api_dependencies(settings: Settings | None = None) -> Dependencies:
    settings = settings or load_settings()
    client = redis_client(settings.queue, settings.redis_password())
    service = SubmissionService(
        store=SubmissionStore(client, settings.queue.result_ttl_s),
        dispatcher=Dispatcher(create_broker(settings.queue, client), settings.queue),
        registry=load_registry(),
        policy=settings.sandbox.policy,
        caps=settings.sandbox.caps,
        api=settings.api,
        queue=settings.queue,
        webhook_allow_private=settings.queue.webhook_allow_private,
    )
    return Dependencies(service=service, authority=token_authority(settings), metrics=ApiMetrics())


def api_app() -> falcon.App:
    """gunicorn's entry point: `gunicorn -c api/gunicorn.conf.py 'kodewar.wiring:api_app()'`."""
    return create_app(api_dependencies())


def served_languages(settings: Settings, wanted: list[str] | None = None) -> tuple[str, ...]:
    """The languages whose image this host has (or those asked for)."""
    registry = load_registry()
    if wanted:
        return tuple(wanted)
    api = PodmanAPI(settings.sandbox.podman_url, settings.sandbox.api_timeout_s)
    return tuple(k for k, lang in registry.items() if api.image_exists(lang.image(settings.sandbox.image_prefix)))


def worker_runtime(settings: Settings, languages: tuple[str, ...]) -> WorkerRuntime:
    secret = None
    if settings.webhook_secret_file:
        with open(settings.webhook_secret_file, "rb") as handle:
            secret = handle.read().strip()
    options = WorkerOptions(
        queue=settings.queue,
        sandbox=settings.sandbox,
        registry=load_registry(),
        languages=languages,
        webhook_secret=secret,
        redis_password=settings.redis_password(),
    )
    return WorkerRuntime(options)
