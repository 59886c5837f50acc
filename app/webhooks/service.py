"""Webhook endpoints and deliveries. Functions take the session and never commit."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from app.errors import Invalid
from app.runs.models import Run
from app.settings import Settings
from app.studies.models import Study
from app.users.models import User
from app.webhooks import targets
from app.webhooks.delivery import Policy, deliver
from app.webhooks.exceptions import WebhookNotFound
from app.webhooks.models import STUDY_FINISHED, TEST_EVENT, Webhook, WebhookDelivery

OUTBOX = "webhook_outbox"  # session.info key: deliveries to send after the commit
SECRET_BYTES = 32
LOG_LIMIT = 50


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and a base64 key of 256 random bits."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def create(
    session: Session, settings: Settings, user: User, url: str, events: list[str]
) -> Webhook:
    """A webhook of `user`'s; Invalid naming `url` for a target the studio will not POST to."""
    problem = targets.refusal(url, settings.webhook_private_targets)
    if problem is not None:
        raise Invalid(problem, "url")
    hook = Webhook(owner_id=user.id, url=url, events=sorted(set(events)), secret=new_secret())
    session.add(hook)
    session.flush()
    return hook


def list_for(session: Session, user: User) -> list[Webhook]:
    query = select(Webhook).where(Webhook.owner_id == user.id).order_by(Webhook.created_at)
    return list(session.scalars(query))


def get(session: Session, user: User, webhook_id: str) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.owner_id != user.id:
        raise WebhookNotFound(webhook_id)
    return hook


def delete(session: Session, user: User, webhook_id: str) -> None:
    session.delete(get(session, user, webhook_id))


def deliveries(session: Session, webhook_id: str, limit: int = LOG_LIMIT) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def envelope(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks body shape: type, timestamp, data."""
    return {"type": event, "timestamp": utcnow().isoformat(), "data": data}


def run_data(run: Run) -> dict[str, Any]:
    return {
        "run": {
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "method": run.method,
            "error": run.error,
            "owner_id": run.owner_id,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    }


def queue_event(
    session: Session, owner_id: str, event: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    """Deliveries of `event` for every active endpoint of `owner_id` that asked for it;
    they are sent once the session's transaction commits (`app.webhooks.outbox`)."""
    hooks = session.scalars(
        select(Webhook).where(Webhook.owner_id == owner_id, Webhook.active.is_(True))
    )
    added = [
        WebhookDelivery(webhook_id=h.id, event=event, payload=envelope(event, data))
        for h in hooks
        if event in h.events
    ]
    session.add_all(added)
    session.info.setdefault(OUTBOX, []).extend(added)
    return added


def queue_run_event(session: Session, run: Run) -> list[WebhookDelivery]:
    """`run.<status>` for the run's owner."""
    return queue_event(session, run.owner_id, f"run.{run.status}", run_data(run))


def queue_study_event(session: Session, study: Study, status: str) -> list[WebhookDelivery]:
    """`study.finished` for the study's owner, with how it ended."""
    data = {"study": {"id": study.id, "name": study.name, "status": status}}
    return queue_event(session, study.owner_id, STUDY_FINISHED, data)


def queue_test(session: Session, hook: Webhook) -> WebhookDelivery:
    delivery = WebhookDelivery(
        webhook_id=hook.id,
        event=TEST_EVENT,
        payload=envelope(TEST_EVENT, {"webhook_id": hook.id, "url": hook.url}),
    )
    session.add(delivery)
    session.flush()
    return delivery


def send_test(session: Session, user: User, webhook_id: str, settings: Settings) -> WebhookDelivery:
    """Commit a `webhook.test` delivery and send it once, now; answers the logged row."""
    delivery = queue_test(session, get(session, user, webhook_id))
    session.commit()
    once = Policy.of(settings)
    once = Policy(1, once.backoff_s, once.max_backoff_s, once.timeout_s, once.private_targets)
    deliver(sessionmaker(session.get_bind(), expire_on_commit=False), delivery.id, once)
    session.refresh(delivery)
    return delivery
