from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.studies import results, service
from app.studies.schemas import StudyCreate, StudyDetail, StudyOut, StudyPage

router = APIRouter(prefix="/studies", tags=["studies"])


@router.post("", status_code=201)
def create_study(
    body: StudyCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyDetail:
    study = service.create(session, settings, user, body.name, body.spec)
    return StudyDetail.model_validate(service.describe(session, study))


@router.get("")
def list_studies(
    _: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StudyPage:
    studies, total = service.list_studies(session, limit, offset)
    items = [StudyOut.model_validate(service.describe(session, s)) for s in studies]
    return StudyPage(items=items, total=total)


@router.get("/{study_id}")
def get_study(study_id: str, _: CurrentUser, session: SessionDep) -> StudyDetail:
    return StudyDetail.model_validate(service.describe(session, service.get(session, study_id)))


@router.get("/{study_id}/results")
def study_results(
    study_id: str, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Per budget: accuracy with 95% intervals per method and benchmark, paired exact
    McNemar tests between every two methods (per seed and pooled, Holm-adjusted, with a
    verdict), the smallest detectable difference; and latent-map metrics per cell."""
    return results.study_results(session, settings, service.get(session, study_id))


@router.post("/{study_id}/cancel")
def cancel_study(study_id: str, user: CurrentUser, session: SessionDep) -> StudyDetail:
    study = service.cancel(session, user, study_id)
    return StudyDetail.model_validate(service.describe(session, study))


@router.post("/{study_id}/resume")
def resume_study(
    study_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyDetail:
    study = service.resume(session, settings, user, study_id)
    return StudyDetail.model_validate(service.describe(session, study))
