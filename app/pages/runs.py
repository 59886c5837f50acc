"""The runs list (the studio's home page) and the comparison of several runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.datasets import service as datasets
from app.datasets.exceptions import DatasetNotFound
from app.db import MAX_PAGE
from app.deps import SessionDep
from app.errors import Invalid
from app.pages import compare as comparison
from app.pages import listing
from app.pages.auth import PageUser
from app.pages.render import render
from app.runs import service as runs
from app.runs.models import Run
from app.runs.schemas import RunFilters
from app.runs.status import STATUSES

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAX_COMPARED = 8
DATASET_CHOICES = 200


@router.get("/")
def runs_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    filters: Annotated[RunFilters, Query()],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    rows, total = runs.list_runs(session, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    ids = [r.id for r in rows]
    try:
        dataset = datasets.get(session, filters.dataset) if filters.dataset else None
    except DatasetNotFound:
        dataset = None
    return render(
        request,
        "runs.html",
        user,
        runs=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        filter_dataset=dataset,
        owners=listing.emails(session, {r.owner_id for r in rows}),
        results=listing.key_results(session, ids),
        datasets=listing.run_datasets(session, ids),
        choices={
            "status": STATUSES,
            "method": listing.distinct_values(session, Run.method),
            "student": listing.distinct_values(session, Run.student),
            "owner": listing.all_users(session),
            "dataset": datasets.list_datasets(session, None, DATASET_CHOICES, 0)[0],
        },
    )


def parse_ids(values: list[str]) -> list[str]:
    """`?ids=A,B` (the documented address) or `?ids=A&ids=B` (the list's checkboxes)."""
    ids = [i.strip() for v in values for i in v.split(",") if i.strip()]
    return list(dict.fromkeys(ids))


@router.get("/runs/compare")
def compare_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    chosen = parse_ids(ids)
    if not 2 <= len(chosen) <= MAX_COMPARED:
        raise Invalid(f"pick between 2 and {MAX_COMPARED} runs to compare", "ids")
    compared = [runs.get(session, run_id) for run_id in chosen]
    return render(
        request,
        "compare.html",
        user,
        runs=compared,
        labels=[comparison.label(r) for r in compared],
        **comparison.compare(session, compared),
    )
