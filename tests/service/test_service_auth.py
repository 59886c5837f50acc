"""Bearer auth on every API route, tokens hashed and revocable, the admin CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import main as cli
from app.users.models import ApiToken
from app.users.security import hash_token
from tests.service.helpers import make_user


class TestBearerAuth:
    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="missing"),
            pytest.param({"Authorization": "Bearer mind_wrong"}, id="wrong"),
            pytest.param({"Authorization": "Basic abc"}, id="not-bearer"),
        ],
    )
    def test_every_api_route_refuses_without_a_valid_token(
        self, client: TestClient, headers: dict
    ) -> None:
        """Every /api/v1 route answers 401 with the JSON error shape."""
        for route in client.app.routes:
            path = getattr(route, "path", "")
            if not path.startswith("/api/v1"):
                continue
            method = sorted(route.methods)[0]
            url = path.replace("{run_id}", "x").replace("{dataset_id}", "x")
            url = url.replace("{token_id}", "x").replace("{name}", "x").replace("{benchmark}", "x")
            response = client.request(method, url, headers=headers)
            assert response.status_code == 401, (method, url, response.text)
            assert response.json()["error"]["code"] == "unauthorized"

    def test_token_is_stored_hashed_and_shown_once(
        self, client: TestClient, session: Session
    ) -> None:
        _, headers = make_user(session)
        created = client.post("/api/v1/tokens", headers=headers, json={"name": "ci"}).json()
        token = created["token"]
        row = session.scalar(select(ApiToken).where(ApiToken.id == created["id"]))
        assert (
            row is not None
            and row.token_hash == hash_token(token)
            and token not in str(row.__dict__)
        )
        listed = client.get("/api/v1/tokens", headers=headers).json()
        assert all("token" not in t for t in listed)

    def test_revoked_token_stops_working(self, client: TestClient, session: Session) -> None:
        _, headers = make_user(session)
        created = client.post("/api/v1/tokens", headers=headers, json={}).json()
        new = {"Authorization": f"Bearer {created['token']}"}
        assert client.get("/api/v1/users/me", headers=new).status_code == 200
        client.delete(f"/api/v1/tokens/{created['id']}", headers=headers)
        assert client.get("/api/v1/users/me", headers=new).status_code == 401

    def test_only_admins_create_users(self, client: TestClient, session: Session) -> None:
        _, member = make_user(session)
        _, admin = make_user(session, admin=True)
        body = {"email": "new@team.test", "password": "password1"}
        assert client.post("/api/v1/users", headers=member, json=body).status_code == 403
        assert client.post("/api/v1/users", headers=admin, json=body).status_code == 201
        again = client.post("/api/v1/users", headers=admin, json=body)
        assert again.status_code == 409 and again.json()["error"]["field"] == "email"


class TestCli:
    def test_first_admin_and_token(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
    ) -> None:
        """On the embedded default: migrate, create the admin, print a working token last."""
        monkeypatch.setenv("MIND_HOME", str(tmp_path))
        assert cli(["migrate"]) == 0
        assert (
            cli(["create-user", "--email", "Boss@Team.test", "--password", "pw123456", "--admin"])
            == 0
        )
        capsys.readouterr()
        assert cli(["create-token", "--email", "boss@team.test"]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        assert token.startswith("mind_") and " " not in token
        assert cli(["create-token", "--email", "nobody@team.test"]) == 1


def test_a_burst_of_requests_on_one_token_writes_last_used_once(factory) -> None:
    """Concurrent requests that all see a stale `last_used_at` make one write between them
    (on SQLite each write would queue for the database lock, stalling the burst)."""
    from app.users import service as users

    with factory() as setup:
        user = users.create_user(setup, "burst@team.test", "password1")
        _, token = users.create_token(setup, user)
        setup.commit()
    burst = [factory() for _ in range(5)]  # all open before any of them commits
    writes = []
    for session in burst:
        assert users.authenticate(session, token) is not None
        writes.append(bool(session.dirty))
    assert writes == [True, False, False, False, False]
    for session in reversed(burst):  # savepoints on the test's connection unwind in order
        session.close()
