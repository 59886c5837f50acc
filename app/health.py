"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can also reach
its database and broker, so a load balancer sends it work). Neither needs a token, and
neither names a host, a path or an exception: only which dependency is down."""

from __future__ import annotations

import logging

import anyio
from celery import Celery
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
CHECK_TIMEOUT_S = 5.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _database(factory: sessionmaker) -> None:
    with factory() as session:
        session.execute(text("SELECT 1"))


def _broker(celery: Celery) -> None:
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)


async def _check(name: str, func, *args) -> str:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S * 2):
            await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True)
    except Exception as exc:
        log.warning("readiness: %s unreachable: %s", name, exc)
        return "unreachable"
    return "ok"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    async with state.db_slots:
        database = await _check("database", _database, state.sessionmaker)
    checks = {"database": database, "broker": await _check("broker", _broker, state.celery)}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unready", **checks}, 200 if ready else 503
    )
