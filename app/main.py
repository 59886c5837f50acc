"""The FastAPI application: `create_app()` wires settings, database, queue and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from app import api_docs, health, hooks
from app.datasets.router import router as datasets
from app.db import make_engine, make_sessionmaker
from app.errors import COMMON, install_error_handlers, responses
from app.ingress import IngressGuard
from app.pages import install as install_pages
from app.perspectives.router import router as perspectives
from app.playground.router import router as playground
from app.queue import make_celery
from app.results.router import router as results
from app.runs.router import router as runs
from app.secrets.router import router as secrets
from app.settings import Settings
from app.students.router import router as students
from app.studies.router import router as studies
from app.teachers.router import router as teachers
from app.timing import ServerTiming
from app.users.router import router as users
from app.users.throttle import Throttle
from app.webhooks.router import router as webhooks
from app.workers import service as routing

API = "/api/v1"
DESCRIPTION = """The MIND Studio REST API: upload datasets, submit and follow distillation
runs, read their results. Every route needs `Authorization: Bearer <token>` (an API token
from `mind-studio create-token` or the account page; a browser session cookie is not one).
Every error answers with the `ErrorOut` body: `{"error": {"code", "message", "field"}}`."""


def create_app(settings: Settings | None = None, factory: sessionmaker | None = None) -> FastAPI:
    """The app; settings come from the environment unless given (tests pass their own,
    and may pass a session factory bound to a connection they roll back)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.settings = settings or Settings()
        state.settings.storage.mkdir(parents=True, exist_ok=True)
        engine = None
        if factory is None:
            engine = make_engine(state.settings.database_url, state.settings.pool_size)
        state.sessionmaker = factory or hooks.install(make_sessionmaker(engine))
        routing.install(state.sessionmaker, state.settings)
        state.db_slots = anyio.Semaphore(state.settings.pool_size)
        # An admitted request holds a thread for its session and one for its handler: fewer
        # threads than that and admitted requests wait on each other (a stall on SQLite).
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, 2 * state.settings.pool_size)
        state.throttle = Throttle(state.settings)
        state.celery = make_celery(state.settings)
        yield
        state.celery.close()
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title="MIND Studio",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(IngressGuard)
    app.add_middleware(ServerTiming)  # outermost: times the guard too
    install_error_handlers(app)
    routers = (users, datasets, runs, results, studies, perspectives, students, secrets)
    for router in (*routers, teachers, webhooks, playground):
        app.include_router(router, prefix=API, responses=responses(*COMMON))
    app.include_router(health.router)
    api_docs.install(app)
    install_pages(app)
    return app
