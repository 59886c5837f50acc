"""Teachers: team secrets (write-only), the connection test, and teacher jobs with their
acceptance rates and sample rationales."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.datasets import service as datasets
from app.deps import SessionDep, SettingsDep
from app.errors import StudioError
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.secrets import service as secrets
from app.teachers import service as teachers
from app.teachers.schemas import TeacherJobCreate
from app.users.models import User
from mind.perspectives import BUILTIN

router = APIRouter(prefix="/teachers", include_in_schema=False)
JOBS_SHOWN = 50
CHOICES = 200
TEACHER_FIELDS = ("backend", "model", "base_url", "api_key_secret", "temperature", "max_tokens")


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _teacher(form: FormData) -> dict[str, Any]:
    """The teacher section from the form's `teacher.*` inputs; blank means the default."""
    out = {}
    for name in TEACHER_FIELDS:
        value = str(form.get(f"teacher.{name}", "")).strip()
        if value:
            out[name] = value
    return out


def _page(
    request: Request, user: User, session: Session, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    jobs, total = teachers.list_jobs(session, JOBS_SHOWN, 0)
    questions, _ = datasets.list_datasets(session, "questions", CHOICES, 0)
    return render(
        request,
        "teachers.html",
        user,
        status_code=status_code,
        jobs=jobs,
        total=total,
        secrets=secrets.list_secrets(session),
        questions=questions,
        perspectives=list(BUILTIN.values()),
        v=extra.pop("v", {}),
        **extra,
    )


@router.get("")
def teachers_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return _page(request, user, session)


@router.post("/secrets")
def put_secret(
    request: Request, user: FormUser, session: SessionDep, settings: SettingsDep, form: Form
) -> Response:
    name, value = str(form.get("name", "")).strip(), str(form.get("value", ""))
    try:
        secrets.put(session, settings, user, name, value)
    except StudioError as exc:
        return _page(request, user, session, exc.status, secret_error=exc)
    return RedirectResponse("/teachers", status_code=303)


@router.post("/secrets/{name}/delete")
def delete_secret(name: str, user: FormUser, session: SessionDep) -> Response:
    secrets.delete(session, user, name)
    return RedirectResponse("/teachers", status_code=303)


@router.post("/test")
def test_connection(
    request: Request, user: FormUser, session: SessionDep, settings: SettingsDep, form: Form
) -> HTMLResponse:
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        result = teachers.test_connection(session, settings, _teacher(form))
    except StudioError as exc:
        return _page(request, user, session, exc.status, job_error=exc, v=values)
    return _page(request, user, session, connection=result, v=values)


@router.post("/jobs")
def create_job(request: Request, user: FormUser, session: SessionDep, form: Form) -> Response:
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        body = TeacherJobCreate(
            name=values.get("name", "").strip() or "teacher job",
            questions=values.get("questions", ""),
            perspectives=form.getlist("perspectives") or None,
            max_questions=values.get("max_questions") or None,
            teacher=_teacher(form),
        )
        job = teachers.create(session, user, body)
    except StudioError as exc:
        return _page(request, user, session, exc.status, job_error=exc, v=values)
    except ValueError as exc:  # pydantic's ValidationError
        error = StudioError(str(exc).splitlines()[-1] if str(exc) else "invalid form")
        return _page(request, user, session, 422, job_error=error, v=values)
    return RedirectResponse(f"/teachers/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    job = teachers.get(session, job_id)
    questions = datasets.get(session, job.questions_id)
    return render(request, "teacher_job.html", user, job=job, questions=questions)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, user: FormUser, session: SessionDep) -> Response:
    teachers.cancel(session, user, job_id)
    return RedirectResponse(f"/teachers/jobs/{job_id}", status_code=303)
