"""Study pages: the list, the new-study form and one study's page (progress per cell,
accuracy with intervals, paired tests, learning and selection curves, latent metrics)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.datasets import service as datasets
from app.deps import SessionDep, SettingsDep
from app.errors import Invalid
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.students import service as students
from app.studies import figures, results, service
from app.studies.plan import merge
from app.studies.schemas import StudySpec
from app.users import service as users
from app.users.models import User
from mind.config import Method

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CHOICES = 200
PRESETS = {"mind (paper)": {"method": "mind", "overrides": {"mind": {"preset": "paper"}}}}
CELLS = {m: {"method": m} for m in Method.__args__} | PRESETS
NUMBERS = {  # form field -> (config section, key)
    "max_steps": ("train", "max_steps"),
    "questions_per_batch": ("train", "questions_per_batch"),
    "max_questions": ("data", "max_questions"),
    "max_new_tokens": ("eval", "max_new_tokens"),
}


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


@router.get("/studies")
def studies_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    rows, total = service.list_studies(session, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render(
        request,
        "studies.html",
        user,
        studies=[service.describe(session, s) for s in rows],
        owners=users.emails(session, {s.owner_id for s in rows}),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


def _choices(session: Session) -> dict[str, Any]:
    questions, _ = datasets.list_datasets(session, "questions", CHOICES, 0)
    rationales, _ = datasets.list_datasets(session, "rationales", CHOICES, 0)
    return {
        "questions": questions,
        "rationales": rationales,
        "cells": list(CELLS),
        "students": students.available_names(session),
    }


def _new_page(
    request: Request, user: User, session: Session, values: dict[str, Any], **extra: Any
) -> HTMLResponse:
    status = 422 if extra.get("error") else 200
    context = _choices(session) | {"v": values} | extra
    return render(request, "new_study.html", user, status_code=status, **context)


@router.get("/studies/new")
def new_study_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    values = {"cells": ["sft", "mind", "mind (paper)"], "seeds": "0", "bench": {}}
    return _new_page(request, user, session, values | {"student": "smollm2-135m-instruct"})


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    values["cells"] = form.getlist("cells")
    values["bench"] = {k[6:]: v for k, v in values.items() if k.startswith("bench.") and v}
    return values


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise Invalid(f"seeds must be whole numbers, got {text!r}", "seeds") from None


def _extra(text: str) -> dict[str, Any]:
    """More shared settings, as a JSON object of config sections."""
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"not JSON: {exc}", "extra") from None
    if not isinstance(extra, dict):
        raise Invalid('give a JSON object, e.g. {"train": {"lr": 0.0001}}', "extra")
    return extra


def build_spec(session: Session, values: dict[str, Any]) -> StudySpec:
    """The submitted study spec; raises Invalid naming the form field at fault."""
    config: dict[str, Any] = {"student": values.get("student", ""), "data": {}, "train": {}}
    config["eval"] = {"benchmarks": []}
    for role in ("questions", "rationales"):
        if values.get(role):
            config["data"][role] = values[role]
    if values.get("perspectives"):
        config["perspectives"] = [p.strip() for p in values["perspectives"].split(",")]
    for field, (section, key) in NUMBERS.items():
        if values.get(field):
            config[section][key] = values[field]
    for dataset_id, kind in values["bench"].items():
        name = datasets.get(session, dataset_id, "benchmarks").name
        bench = {"name": name, "dataset": dataset_id, "kind": kind}
        if values.get("bench_max"):
            bench["max_questions"] = values["bench_max"]
        config["eval"]["benchmarks"].append(bench)
    if values.get("extra"):
        config = merge(config, _extra(values["extra"]))
    methods = [{"label": c} | CELLS[c] for c in values["cells"] if c in CELLS]
    try:
        return StudySpec(config=config, methods=methods, seeds=_seeds(values.get("seeds", "")))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(first["msg"], ".".join(str(p) for p in first["loc"])) from None


@router.post("/studies/new")
def submit_study(
    request: Request, user: FormUser, session: SessionDep, settings: SettingsDep, form: Form
) -> Response:
    values = _form_values(form)
    try:
        spec = build_spec(session, values)
        name = values.get("name") or "untitled study"
        study = service.create(session, settings, user, name, spec)
    except Invalid as exc:
        return _new_page(request, user, session, values, error=exc)
    return RedirectResponse(f"/studies/{study.id}", status_code=303)


@router.get("/studies/{study_id}")
def study_page(
    study_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    study = service.get(session, study_id)
    outcome = results.study_results(session, settings, study)
    described = service.describe(session, study)
    return render(
        request,
        "study.html",
        user,
        study=described,
        owner=users.emails(session, {study.owner_id}).get(study.owner_id, ""),
        results=outcome,
        figures=figures.study_figures(session, study, service.cells(session, study), outcome),
        spec_json=json.dumps(study.spec, indent=2),
        actions=service.allowed_actions(user, study, described["status"]),
    )


@router.post("/studies/{study_id}/cancel")
def cancel(study_id: str, user: FormUser, session: SessionDep) -> RedirectResponse:
    service.cancel(session, user, study_id)
    return RedirectResponse(f"/studies/{study_id}", status_code=303)


@router.post("/studies/{study_id}/resume")
def resume(
    study_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    service.resume(session, settings, user, study_id)
    return RedirectResponse(f"/studies/{study_id}", status_code=303)
