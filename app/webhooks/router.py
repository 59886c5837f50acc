from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.webhooks import service
from app.webhooks.schemas import DeliveryOut, NewWebhook, WebhookCreate, WebhookOut

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("")
def list_webhooks(user: CurrentUser, session: SessionDep) -> list[WebhookOut]:
    return [WebhookOut.model_validate(h) for h in service.list_for(session, user)]


@router.post("", status_code=201)
def create_webhook(
    body: WebhookCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> NewWebhook:
    hook = service.create(session, settings, user, str(body.url), list(body.events))
    return NewWebhook.model_validate(
        {**WebhookOut.model_validate(hook).model_dump(), "secret": hook.secret}
    )


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.delete(session, user, webhook_id)


@router.get("/{webhook_id}/deliveries")
def list_deliveries(webhook_id: str, user: CurrentUser, session: SessionDep) -> list[DeliveryOut]:
    service.get(session, user, webhook_id)
    return [DeliveryOut.model_validate(d) for d in service.deliveries(session, webhook_id)]


@router.post("/{webhook_id}/test")
def send_test(
    webhook_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> DeliveryOut:
    """Send a `webhook.test` event now, once (no retries), and answer how it went."""
    return DeliveryOut.model_validate(service.send_test(session, user, webhook_id, settings))
