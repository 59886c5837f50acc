"""Session hooks on the factories of the processes that change runs (the web app, the
worker and its reconciler): run timing (`app.progress.timing`) and the webhook outbox
(`app.webhooks.outbox`). Both act on run status changes, whoever makes them."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from app.progress import timing
from app.webhooks import outbox


def install(factory: sessionmaker) -> sessionmaker:
    timing.install(factory)
    outbox.install(factory)
    return factory
