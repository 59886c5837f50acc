"""The new-run form: datasets, perspectives, method, models and hyperparameters; a
pre-flight check before submitting; clone pre-fills it from a past run's frozen config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.datasets import service as datasets
from app.deps import SessionDep, SettingsDep
from app.pages import hyperparams
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.preflight.service import preflight
from app.runs import config as run_config
from app.runs import service as runs
from app.runs.exceptions import InvalidConfig
from app.students import service as models
from app.users.models import User
from mind.config import Method, RunConfig
from mind.perspectives import BUILTIN, builtin_order

router = APIRouter(include_in_schema=False)
CHOICES = 200
METHODS: tuple[str, ...] = Method.__args__


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _choices(session: Session) -> dict[str, Any]:
    """Datasets to pick from and the perspectives they (and the built-ins) offer."""
    questions, _ = datasets.list_datasets(session, "questions", CHOICES, 0)
    rationales, _ = datasets.list_datasets(session, "rationales", CHOICES, 0)
    found: dict[str, list[str]] = {}
    for d in rationales:
        for pid in d.report.get("perspectives", {}):
            found.setdefault(pid, []).append(d.name)
    ids = sorted(set(BUILTIN) | set(found), key=builtin_order)
    perspectives = [
        {
            "id": pid,
            "name": BUILTIN[pid].name if pid in BUILTIN else pid,
            "description": BUILTIN[pid].instruction if pid in BUILTIN else "Found in data.",
            "in": found.get(pid, []),
        }
        for pid in ids
    ]
    return {
        "questions": questions,
        "rationales": rationales,
        "perspectives": perspectives,
        "methods": METHODS,
        "students": models.available_names(session),
        "params": hyperparams.params(),
        "titles": hyperparams.TITLES,
    }


def _values(config: dict[str, Any]) -> dict[str, Any]:
    """Form state from a (frozen or default) config: text inputs, ticks, benchmark roles."""
    benchmarks = config.get("eval", {}).get("benchmarks", [])
    return {
        **hyperparams.form_values(config),
        "student": config.get("student", ""),
        "method": config.get("method", "mind"),
        "questions": config.get("data", {}).get("questions") or "",
        "rationales": config.get("data", {}).get("rationales") or "",
        "perspectives": config.get("perspectives") or [],
        "bench": {b["dataset"]: b["kind"] for b in benchmarks if b.get("dataset")},
        "bench_max": hyperparams.as_text(
            benchmarks[0].get("max_questions") if benchmarks else None
        ),
    }


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values["perspectives"] = form.getlist("perspectives")
    values["bench"] = {k[6:]: v for k, v in values.items() if k.startswith("bench.") and v}
    return values


def build_config(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """The submitted run config; datasets by id, benchmarks named after their dataset."""
    config = hyperparams.config_sections(values)
    config |= {"student": values.get("student", "").strip(), "method": values.get("method")}
    if values["perspectives"]:
        config["perspectives"] = values["perspectives"]
    data = config.setdefault("data", {})
    for role in ("questions", "rationales"):
        if values.get(role):
            data[role] = values[role]
    benchmarks, names = [], set()
    for dataset_id, kind in values["bench"].items():
        name = datasets.get(session, dataset_id, "eval.benchmarks").name
        name = name if name not in names else f"{name}-{dataset_id[:6]}"
        names.add(name)
        bench = {"name": name, "dataset": dataset_id, "kind": kind}
        if values.get("bench_max", "").strip():
            bench["max_questions"] = values["bench_max"].strip()
        benchmarks.append(bench)
    config.setdefault("eval", {})["benchmarks"] = benchmarks
    return config


def _page(
    request: Request, user: User, session: Session, values: dict[str, Any], **extra: Any
) -> HTMLResponse:
    status = 422 if extra.get("error") else 200
    return render(
        request, "new_run.html", user, status_code=status, v=values, **_choices(session), **extra
    )


@router.get("/runs/new")
def new_run_page(
    request: Request, user: PageUser, session: SessionDep, clone: str | None = None
) -> HTMLResponse:
    source = runs.get(session, clone) if clone else None
    config = source.config if source else RunConfig().frozen()
    values = _values(config) | {
        "name": f"{source.name} (clone)" if source else "",
        "parent": source.id if source else "",
    }
    return _page(request, user, session, values, source=source)


@router.post("/runs/new")
def submit_run(
    request: Request, user: FormUser, session: SessionDep, settings: SettingsDep, form: Form
) -> Response:
    """`action=check` answers with the pre-flight summary; `action=submit` queues the run."""
    values = _form_values(form)
    source = runs.get(session, values["parent"]) if values.get("parent") else None
    try:
        raw = build_config(session, values)
        if values.get("action") == "submit":
            name = values.get("name", "").strip() or "untitled run"
            run = runs.submit(session, settings, user, name[:200], raw, parent=source)
            return RedirectResponse(f"/runs/{run.id}", status_code=303)
        summary = preflight(session, settings, run_config.check(session, raw))
    except InvalidConfig as exc:
        return _page(request, user, session, values, source=source, error=exc)
    return _page(request, user, session, values, source=source, summary=summary)
