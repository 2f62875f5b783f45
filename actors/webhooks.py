"""Deliver a finished submission to its callback URL, retried by Dramatiq with back-off."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from urllib.parse import urlparse

import requests

from actors.store import SubmissionStore

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-KodeWar-Signature"


class WebhookFailed(RuntimeError):
    """The receiver did not take the delivery; worth a retry."""


class WebhookRefused(ValueError):
    """The URL must never be called (bad scheme, or a private address when those are not allowed)."""


def check_callback_url(url: str, allow_private: bool) -> None:
    """Refuse what would turn webhooks into SSRF: non-HTTP schemes and, unless allowed, internal addresses."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WebhookRefused("callback_url must be an http(s) URL with a host")
    if parsed.username or parsed.password:
        raise WebhookRefused("callback_url must not carry credentials")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise WebhookRefused(f"callback_url host does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookRefused(f"callback_url resolves to a non-public address ({address})")


class DeliverWebhook:
    def __init__(self, store: SubmissionStore, timeout_s: float, allow_private: bool, secret: bytes | None) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.allow_private = allow_private
        self.secret = secret
        self.session = requests.Session()

    def __call__(self, submission_id: str) -> None:
        record = self.store.get(submission_id)
        if record is None or not record.callback_url or not record.status.finished:
            return
        try:
            check_callback_url(record.callback_url, self.allow_private)
        except WebhookRefused as exc:
            log.warning("submission %s: webhook not sent: %s", submission_id, exc)
            return
        body = json.dumps(record.public_view()).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "KodeWar-Webhook/1"}
        if self.secret:
            headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        try:
            response = self.session.post(
                record.callback_url, data=body, headers=headers, timeout=self.timeout_s, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise WebhookFailed(f"webhook for {submission_id} failed: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise WebhookFailed(f"webhook for {submission_id}: receiver answered {response.status_code}")
