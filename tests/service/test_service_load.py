"""More concurrent clients than database connections: every request is answered, none
fails and none waits long (the pool and the request slots are sized together)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

from app.settings import Settings
from bench.api_load import drive, free_port, seed, serve, wait_ready
from tests.service.helpers import REDIS

POOL, CLIENTS, SECONDS = 2, 30, 5.0


def test_thirty_clients_on_two_connections_all_get_answers(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"load-{uuid.uuid4().hex[:8]}",
        db_pool_size=POOL,
    )
    token, run_ids = seed(settings.database_url, 50)
    port = free_port()
    web = serve(settings.child_env() | {"HF_HUB_OFFLINE": "1"}, "web", port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, 180)
        load = asyncio.run(drive(f"{base}/api/v1", token, run_ids, CLIENTS, SECONDS))
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    assert not load.errors, load.summary()
    assert len(load.latencies) > CLIENTS * 2, load.summary()
    assert max(load.latencies) < 10, load.summary()


def test_sqlite_and_postgres_get_their_own_pool_size(tmp_path: Path) -> None:
    """An embedded studio admits `sqlite_pool_size` requests at once, team mode `db_pool_size`."""
    sizes = {"sqlite_pool_size": 3, "db_pool_size": 7}
    sqlite = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/s.db", **sizes)
    postgres = Settings(home=tmp_path, database_url="postgresql+psycopg://h/db", **sizes)
    assert (sqlite.pool_size, postgres.pool_size) == (3, 7)
