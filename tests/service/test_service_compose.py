"""Team mode as deployed: docker-compose.yml is a valid compose file whose services run
exactly app/deploy.py's commands, and those commands, started here as processes against the
real Postgres and Redis, take a submission through to a succeeded run."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from sqlalchemy import create_engine, text

from app.db import make_engine, make_sessionmaker
from app.deploy import MIGRATE, WEB, WORKER, local
from app.users import service as users
from tests.service.conftest import PG_SERVER
from tests.service.helpers import REDIS, free_port, run_to_the_end, wait_for

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def compose_errors(document: Any) -> list[str]:
    """Where `document` breaks the compose specification (check-jsonschema's vendored copy)."""
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


class TestComposeFile:
    def test_follows_the_compose_specification(self, compose: dict[str, Any]) -> None:
        assert compose_errors(compose) == []

    def test_the_validator_catches_a_broken_service(self, compose: dict[str, Any]) -> None:
        broken = {**compose, "services": {**compose["services"], "web": {"comand": ["x"]}}}
        assert any("comand" in e for e in compose_errors(broken))

    def test_services_run_the_deploy_commands(self, compose: dict[str, Any]) -> None:
        services = compose["services"]
        commands = {name: services[name]["command"] for name in ("migrations", "web", "worker")}
        assert commands == {"migrations": MIGRATE, "web": WEB, "worker": WORKER}
        for name in ("migrations", "web", "worker"):
            env = services[name]["environment"]
            assert env["MIND_DATABASE_URL"].startswith("postgresql+psycopg://")
            assert env["MIND_BROKER_URL"].startswith("redis://")


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A fresh, unmigrated Postgres database: `migrate` has to build the schema."""
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"mind_compose_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_deploy_commands_serve_a_run(
    empty_database: str, tmp_path: Path, shared: Path, tiny_student: str
) -> None:
    port = free_port()
    env = os.environ | {
        "MIND_DATABASE_URL": empty_database,
        "MIND_BROKER_URL": REDIS,
        "MIND_STORAGE_DIR": str(tmp_path / "storage"),
        "MIND_HOME": str(tmp_path / "home"),
        "MIND_QUEUE": f"compose-{uuid.uuid4().hex[:8]}",
        "MIND_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    migrate = subprocess.run(local(MIGRATE), env=env, capture_output=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr.decode()
    with make_sessionmaker(make_engine(empty_database)).begin() as session:
        user = users.create_user(session, "ops@team.test", "password1", True)
        _, token = users.create_token(session, user)
    log = (tmp_path / "services.log").open("wb")
    services = [
        subprocess.Popen(local(command), env=env, stdout=log, stderr=log)
        for command in (WEB, WORKER)
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), 60, "the web service")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as http:
            run = run_to_the_end(http, shared, tmp_path / "data", tiny_student)
        assert run["status"] == "succeeded", run
    finally:
        for service in services:
            service.terminate()
        for service in services:
            service.wait(timeout=60)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
