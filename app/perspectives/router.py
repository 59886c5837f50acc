from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.deps import CurrentUser
from mind.perspectives import BUILTIN

router = APIRouter(prefix="/perspectives", tags=["perspectives"])


@router.get("", summary="Built-in perspectives")
def list_perspectives(_: CurrentUser) -> list[dict[str, str]]:
    """Built-ins; runs may add their own under `custom_perspectives`."""
    return [asdict(p) for p in BUILTIN.values()]
