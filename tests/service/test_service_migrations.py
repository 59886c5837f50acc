"""Alembic migrations create every table, on Postgres and on SQLite, with no drift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from app.tables import Base


@pytest.fixture(params=["postgres", "sqlite"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'studio.db'}"
        upgrade(url)
        return url
    new_database: Callable[[], str] = request.getfixturevalue("new_database")
    return new_database()


class TestMigrations:
    def test_every_table_exists(self, migrated: str) -> None:
        engine = make_engine(migrated)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()

    def test_models_match_the_migrations(self, migrated: str) -> None:
        """`alembic check` fails if a model changed without a migration."""
        command.check(alembic_config(migrated))
