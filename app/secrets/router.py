"""Team secrets: set, list and delete by name; a value is never sent back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.secrets import service
from app.secrets.schemas import NAME_PATTERN, SecretOut, SecretPut

router = APIRouter(prefix="/secrets", tags=["secrets"])
SecretName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("")
def list_secrets(_: CurrentUser, session: SessionDep) -> list[SecretOut]:
    return [SecretOut.model_validate(s) for s in service.list_secrets(session)]


@router.put("/{name}")
def put_secret(
    name: SecretName, body: SecretPut, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SecretOut:
    """Create or replace (write-only: the answer never holds the value)."""
    return SecretOut.model_validate(service.put(session, settings, user, name, body.value))


@router.delete("/{name}", status_code=204)
def delete_secret(name: SecretName, user: CurrentUser, session: SessionDep) -> None:
    service.delete(session, user, name)
