"""Service fixtures: a fresh migrated Postgres database, a rolled-back transaction per test,
an app bound to it, builders for users and datasets, and real worker processes.

Postgres and Redis are the real ones on this machine (scripts/services.sh starts them).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.service.helpers import REDIS

PG_SERVER = os.environ.get("MIND_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _admin_url() -> str:
    return f"{PG_SERVER}/postgres"


@pytest.fixture(scope="session")
def new_database() -> Iterator[Callable[[], str]]:
    """Creates migrated databases with unique names; drops them all at the end."""
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"mind_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        url = f"{PG_SERVER}/{name}"
        upgrade(url)
        return url

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url(new_database: Callable[[], str]) -> str:
    return new_database()


@pytest.fixture
def connection(pg_url: str) -> Iterator[Connection]:
    """One transaction per test, rolled back at the end: tests never see each other."""
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()
    engine.dispose()


@pytest.fixture
def factory(connection: Connection) -> sessionmaker:
    """Sessions whose commits are savepoints inside the test's transaction."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(factory: sessionmaker) -> Iterator[Session]:
    with factory() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=pg_url,
        broker_url=REDIS,
        storage_dir=tmp_path / "storage",
        queue=f"test-{uuid.uuid4().hex[:8]}",
        max_upload_bytes=200_000,
    )


@pytest.fixture
def client(settings: Settings, factory: sessionmaker) -> Iterator[TestClient]:
    with TestClient(create_app(settings, factory)) as c:
        yield c
        c.app.state.celery.connection_for_write().default_channel.queue_purge(settings.queue)


@pytest.fixture
def fast(tmp_path: Path, new_database: Callable[[], str]) -> Settings:
    """Supervision timings in seconds, so lost runs and jobs are seen quickly."""
    return Settings(
        home=tmp_path,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"fast-{uuid.uuid4().hex[:8]}",
        heartbeat_s=0.5,
        lost_after_s=3,
        reconcile_every_s=1,
        dispatch_after_s=0.5,
    )


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    """Worker processes a test starts; any still alive at the end are killed."""
    started: list[subprocess.Popen] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
