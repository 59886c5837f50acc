"""The FastAPI application: `create_app()` wires settings, database, queue and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from app import hooks
from app.datasets.router import router as datasets
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
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
from app.users.router import router as users
from app.webhooks.router import router as webhooks

API = "/api/v1"


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
            engine = make_engine(state.settings.database_url)
        state.sessionmaker = factory or hooks.install(make_sessionmaker(engine))
        state.celery = make_celery(state.settings)
        yield
        state.celery.close()
        if engine is not None:
            engine.dispose()

    app = FastAPI(title="MIND Studio", version="1", lifespan=lifespan)
    install_error_handlers(app)
    routers = (users, datasets, runs, results, studies, perspectives, students, secrets)
    for router in (*routers, teachers, webhooks, playground):
        app.include_router(router, prefix=API)

    install_pages(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
