from __future__ import annotations

from app.errors import NotFound


class WebhookNotFound(NotFound):
    def __init__(self, webhook_id: str):
        super().__init__(f"no webhook {webhook_id!r} of yours", "webhook_id")
