"""The embedded default: `mind-studio up` alone (SQLite, local broker, one local worker)
takes the same submission as team mode through to a succeeded run."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.cli import main as cli
from tests.service.helpers import embedded_studio, run_to_the_end


def test_up_runs_a_submission_to_success(
    tmp_path: Path, shared: Path, tiny_student: str, monkeypatch, capsys
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MIND_HOME", str(home))
    assert cli(["migrate"]) == 0
    cli(["create-user", "--email", "me@team.test", "--password", "password1", "--admin"])
    capsys.readouterr()
    cli(["create-token", "--email", "me@team.test"])
    token = capsys.readouterr().out.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    with (
        embedded_studio(home, MIND_HEARTBEAT_S="1", MIND_LOST_AFTER_S="5") as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as http,
    ):
        run = run_to_the_end(http, shared, tmp_path / "data", tiny_student)
        run_id = run["id"]
        assert run["status"] == "succeeded", run
        assert http.get(f"/runs/{run_id}/metrics").json()["loss"]["steps"] == [1, 2, 3]
        assert len(http.get(f"/runs/{run_id}/evaluations").json()) == 2
        assert len(http.get(f"/runs/{run_id}/latent").json()) == 2
    assert (home / "studio.db").exists() and (home / "broker.db").exists()
