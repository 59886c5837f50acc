"""Session hooks every process installs on its session factory (`app.db.make_sessionmaker`):
run timing (`app.progress.timing`) and the webhook outbox (`app.webhooks.outbox`)."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker


def install(factory: sessionmaker) -> sessionmaker:
    from app.progress import timing
    from app.webhooks import outbox

    timing.install(factory)
    outbox.install(factory)
    return factory
