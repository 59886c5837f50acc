"""Students a run can use, and adding one (a hub download or a local folder)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.students import service
from app.students.schemas import ModelAdd, ModelOut

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(_: CurrentUser, session: SessionDep) -> list[ModelOut]:
    """Bundled, in the local Hugging Face cache, and added ones, with the runs that used each."""
    return service.list_models(session)


@router.post(
    "", status_code=202, responses={200: {"description": "Already added, or ready at once."}}
)
def add_model(
    body: ModelAdd,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ModelOut:
    """A hub id is queued for a worker to download (202); a local folder is ready at once."""
    if body.path is not None:
        row = service.register_local(session, settings, user, body.path)
    else:
        row = service.request_download(session, user, str(body.hf_id))
    response.status_code = 202 if row.status == "queued" else 200
    return service.describe(session, row)


@router.get("/{model_id}")
def get_model(model_id: str, _: CurrentUser, session: SessionDep) -> ModelOut:
    """An added model by its row id: download progress, or the error that stopped it."""
    return service.describe(session, service.get(session, model_id))
