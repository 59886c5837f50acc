"""Teacher jobs (a rationale dataset written on its own) and the teacher connection test."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.teachers import service
from app.teachers.connection import ConnectionResult
from app.teachers.schemas import TeacherJobCreate, TeacherJobOut, TeacherTest

router = APIRouter(tags=["teachers"])


class TeacherJobPage(BaseModel):
    items: list[TeacherJobOut]
    total: int


@router.post("/teachers/test")
def test_connection(
    body: TeacherTest, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ConnectionResult:
    """One tiny request: latency and the model the server reports (or why it failed)."""
    return service.test_connection(session, settings, body.teacher)


@router.post("/teacher-jobs", status_code=201)
def create_job(body: TeacherJobCreate, user: CurrentUser, session: SessionDep) -> TeacherJobOut:
    return TeacherJobOut.model_validate(service.create(session, user, body))


@router.get("/teacher-jobs")
def list_jobs(
    _: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TeacherJobPage:
    jobs, total = service.list_jobs(session, limit, offset)
    return TeacherJobPage(items=[TeacherJobOut.model_validate(j) for j in jobs], total=total)


@router.get("/teacher-jobs/{job_id}")
def get_job(job_id: str, _: CurrentUser, session: SessionDep) -> TeacherJobOut:
    return TeacherJobOut.model_validate(service.get(session, job_id))


@router.post("/teacher-jobs/{job_id}/cancel")
def cancel_job(job_id: str, user: CurrentUser, session: SessionDep) -> TeacherJobOut:
    return TeacherJobOut.model_validate(service.cancel(session, user, job_id))
