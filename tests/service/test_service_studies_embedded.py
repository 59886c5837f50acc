"""A study submitted over the REST API of the embedded studio (`mind-studio up`: SQLite,
local broker, one real worker) runs its grid of runs to the end, and its results carry
accuracies with intervals and paired tests between the methods."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.cli import main as cli
from tests.service.helpers import embedded_studio, study_spec, svamp_files, wait_for

FINISHED = ("succeeded", "failed", "cancelled")


def _token(home: Path, monkeypatch, capsys) -> dict[str, str]:
    monkeypatch.setenv("MIND_HOME", str(home))
    assert cli(["migrate"]) == 0
    cli(["create-user", "--email", "me@team.test", "--password", "password1"])
    capsys.readouterr()
    cli(["create-token", "--email", "me@team.test"])
    return {"Authorization": f"Bearer {capsys.readouterr().out.strip().splitlines()[-1]}"}


def test_a_two_method_study_succeeds_with_intervals_and_paired_tests(
    tmp_path: Path, shared: Path, tiny_student: str, monkeypatch, capsys
) -> None:
    home = tmp_path / "home"
    headers = _token(home, monkeypatch, capsys)
    with (
        embedded_studio(home) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as http,
    ):
        ids = {}
        files = svamp_files(shared, tmp_path / "d")
        for kind, path in zip(("questions", "rationales"), files, strict=True):
            with path.open("rb") as handle:
                answer = http.post("/datasets", data={"kind": kind}, files={"file": handle})
            ids[kind] = answer.json()["id"]
        spec = study_spec(tiny_student, ids["questions"], ids["rationales"], ("zero_shot", "mind"))
        created = http.post("/studies", json={"name": "base vs mind", "spec": spec})
        assert created.status_code == 201, created.text
        study_id = created.json()["id"]
        assert [c["status"] for c in created.json()["cells"]].count("queued") == 2  # the base

        study = wait_for(
            lambda: (s := http.get(f"/studies/{study_id}").json())["status"] in FINISHED and s,
            600,
            "the study to finish",
        )
        assert study["status"] == "succeeded", study
        assert {c["status"] for c in study["cells"]} == {"succeeded"}
        runs = {c["budget"]: c["run_id"] for c in study["cells"] if c["label"] == "mind"}
        assert runs["steps"] == runs["tokens"]  # mind is the token budget's reference
        assert next(c for c in study["cells"] if c["label"] == "mind")["tokens_trained"] > 0
        listed = http.get("/studies").json()
        assert [s["id"] for s in listed["items"]] == [study_id]

        results = http.get(f"/studies/{study_id}/results").json()
        for budget in ("steps", "tokens"):
            analysis = results["budgets"][budget]
            methods = {m["label"]: m for m in analysis["methods"]}
            assert list(methods) == ["zero_shot", "mind"]
            for method in methods.values():
                svamp = method["benchmarks"]["svamp"]
                assert svamp["n"] == 6
                assert 0 <= svamp["low"] <= svamp["accuracy"] <= svamp["high"] <= 1
                assert svamp["high"] - svamp["low"] > 0.3  # six questions say little
            [pair] = analysis["paired"]
            assert (pair["a"], pair["b"], pair["n"]) == ("zero_shot", "mind", 6)
            assert 0 < pair["p"] <= 1
            assert pair["only_a"] + pair["only_b"] <= 6
            assert pair["verdict"] in ("beyond chance", "not significant", "within seed noise")
            assert analysis["detectable"]["svamp"]["difference"] > 0.4
        assert sorted(row["label"] for row in results["latent"]) == ["mind", "zero_shot"]
        [curve] = results["curves"]  # the base student has no checkpoints
        assert curve["label"] == "mind" and [p["step"] for p in curve["points"]] == [1, 2]
