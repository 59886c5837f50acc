"""Team secrets by name. Values go in encrypted and come out only inside a worker."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Forbidden, Invalid, NotFound
from app.secrets import crypto
from app.secrets.models import TeamSecret
from app.secrets.schemas import NAME_PATTERN
from app.settings import Settings
from app.users.models import User


class SecretNotFound(NotFound):
    def __init__(self, name: str, field: str | None = "name"):
        super().__init__(f"no team secret {name!r}", field)


def _check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise Invalid("a secret name is 1-100 letters, digits, '_', '.' or '-'", "name")


def put(session: Session, settings: Settings, user: User, name: str, value: str) -> TeamSecret:
    """Create or replace; replacing someone else's secret takes an admin."""
    _check_name(name)
    row = session.scalar(select(TeamSecret).where(TeamSecret.name == name))
    ciphertext = crypto.encrypt(settings, value)
    if row is None:
        row = TeamSecret(name=name, ciphertext=ciphertext, owner_id=user.id)
        session.add(row)
    else:
        _check_owner(user, row, "replace")
        row.ciphertext, row.updated_at = ciphertext, utcnow()
    session.flush()
    return row


def _check_owner(user: User, row: TeamSecret, action: str) -> None:
    if row.owner_id != user.id and not user.is_admin:
        raise Forbidden(f"only the secret's creator or an admin can {action} it")


def get(session: Session, name: str, field: str | None = "name") -> TeamSecret:
    row = session.scalar(select(TeamSecret).where(TeamSecret.name == name))
    if row is None:
        raise SecretNotFound(name, field)
    return row


def list_secrets(session: Session) -> list[TeamSecret]:
    return list(session.scalars(select(TeamSecret).order_by(TeamSecret.name)))


def delete(session: Session, user: User, name: str) -> None:
    row = get(session, name)
    _check_owner(user, row, "delete")
    session.delete(row)
    session.flush()


def reveal(session: Session, settings: Settings, name: str) -> str:
    """The plain value: for workers about to call a teacher, never for an API answer."""
    return crypto.decrypt(settings, get(session, name).ciphertext)
