from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser
from mind.bundled import BUNDLED_STUDENTS

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(_: CurrentUser) -> list[dict[str, str]]:
    """Bundled students; a local model folder or a cached Hugging Face id also works."""
    return [{"id": name, "source": "bundled"} for name in BUNDLED_STUDENTS]
