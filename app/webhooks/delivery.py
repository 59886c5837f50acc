"""Sending one delivery: sign it the Standard Webhooks way, POST it, retry with backoff, and
log every attempt's status code on its row.

Signature headers (https://www.standardwebhooks.com): `webhook-id` (the delivery's message
id, the same on every retry), `webhook-timestamp` (Unix seconds of this attempt) and
`webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the key
being the base64 part of the `whsec_` secret. See docs/service.md, "Webhooks".
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import sessionmaker
from standardwebhooks import Webhook as Signer
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from app.db import utcnow
from app.settings import Settings
from app.webhooks import targets
from app.webhooks.models import Webhook, WebhookDelivery

log = logging.getLogger(__name__)
USER_AGENT = "MIND-Studio-Webhooks/1"


@dataclass(frozen=True)
class Policy:
    attempts: int
    backoff_s: float
    max_backoff_s: float
    timeout_s: float
    private_targets: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.webhook_attempts,
            settings.webhook_backoff_s,
            settings.webhook_max_backoff_s,
            settings.webhook_timeout_s,
            settings.webhook_private_targets,
        )


class Refused(Exception):
    """The receiver answered, but not with a 2xx: worth another attempt."""


def signed_request(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The headers of one attempt, signed at this moment."""
    now = utcnow()
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, now, body),
    }


def _post(
    client: httpx.Client, pinned: targets.Pinned, body: str, headers: dict[str, str]
) -> httpx.Response:
    """POST to the first checked address that takes the connection, trying them in the
    resolver's order as a client connecting by name would."""
    headers = {**headers, "host": pinned.host}
    for url in pinned.urls[:-1]:
        try:
            return client.post(url, content=body, headers=headers, extensions=pinned.extensions)
        except httpx.ConnectError:
            continue
    return client.post(pinned.urls[-1], content=body, headers=headers, extensions=pinned.extensions)


def _attempt(
    factory: sessionmaker, delivery_id: int, client: httpx.Client, private_targets: bool
) -> None:
    with factory.begin() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        hook = session.get(Webhook, delivery.webhook_id) if delivery else None
        if delivery is None or hook is None:
            return
        delivery.attempts += 1
        url, secret, message_id = hook.url, hook.secret, delivery.message_id
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    code, error = None, None
    try:
        pinned = targets.pin(url, private_targets)
        answer = _post(client, pinned, body, signed_request(secret, message_id, body))
        code = answer.status_code
        if not answer.is_success:
            error = f"HTTP {code}"
    except targets.TargetRefused as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    with factory.begin() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            delivery.status_code, delivery.error = code, error
            if error is None:
                delivery.status, delivery.delivered_at = "succeeded", utcnow()
    if error is not None:
        raise Refused(error)


def deliver(factory: sessionmaker, delivery_id: int, policy: Policy) -> bool:
    """Send until a 2xx or `policy.attempts` tries; True when delivered. Never raises."""
    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.backoff_s, max=policy.max_backoff_s),
        retry=retry_if_exception_type(Refused),
        reraise=True,
    )
    try:
        with httpx.Client(timeout=policy.timeout_s, follow_redirects=False) as client:
            retrying(_attempt, factory, delivery_id, client, policy.private_targets)
        return True
    except Refused:
        with factory.begin() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is not None:
                delivery.status = "failed"
        return False
    except Exception:  # a database hiccup must not kill the process that sends
        log.exception("webhook delivery %s", delivery_id)
        return False


def deliver_in_background(factory: sessionmaker, ids: list[int], policy: Policy) -> None:
    """Send these deliveries from a daemon thread, so no request or run waits on them."""

    def send_all() -> None:
        for delivery_id in ids:
            deliver(factory, delivery_id, policy)

    threading.Thread(target=send_all, name="webhooks", daemon=True).start()
