"""The reference study (issue 13), run as a studio study in chunks, and docs/results.md.

One command does everything: it starts the embedded studio (`mind-studio up`) on a home
folder of its own, submits the study once (its data cut from ../shared), resumes it on
later calls, lets the worker run it for `--hours`, then cancels cleanly (each running cell
checkpoints) and regenerates the report from the study's stored results:

    python -m experiments.reference_study --hours 2      # one chunk; run again to resume
    python -m experiments.reference_study --report-only  # only rebuild docs/results.md

Exit status 0 once the study has succeeded, 3 while cells remain (run it again).

The study: zero_shot, sft, uniform, mcc, mind (recommended preset) and mind (`paper`);
400 of the SVAMP questions whose rationales carry `source_split == "mcc-kd:train"`
(correct rationales only); in distribution the 600 SVAMP questions never trained on, out
of distribution StrategyQA dev (all) and the first 300 CommonsenseQA dev questions; three
seeds; both budgets (equal optimizer steps, equal trained tokens); every checkpoint
scored on the first 100 ID questions for the learning curves.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from experiments.study_report import write_report
from mind.readers import iter_records

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIND_SHARED", ROOT.parent / "shared"))
EMAIL = "reference@study.local"
TRAIN_SPLIT = "mcc-kd:train"
TRAIN_QUESTIONS, SUBSET_SEED = 400, 0
CSQA_QUESTIONS = 300
CURVE_QUESTIONS = 100  # the fixed ID subset each checkpoint is scored on
PERSPECTIVES = ["formal_symbolic", "decomposition", "planning", "other:standard_cot"]
METHODS = [
    {"method": "zero_shot"},
    {"method": "sft"},
    {"method": "uniform"},
    {"method": "mcc"},
    {"method": "mind"},
    {"method": "mind", "label": "mind (paper)", "overrides": {"mind": {"preset": "paper"}}},
]
SEEDS = [0, 1, 2]
SHARED_TRAIN = {
    "max_steps": 300,
    "questions_per_batch": 2,
    "sft_perspective": "other:standard_cot",
    "save_every": 50,
    "keep_checkpoints": 7,  # every checkpoint: the learning curve's points
}
POLL_S = 30


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.reference_study", description=__doc__)
    p.add_argument("--home", type=Path, default=ROOT / "runs/reference-study", help="studio home")
    p.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    p.add_argument("--hours", type=float, default=2.0, help="length of this chunk")
    p.add_argument("--doc", type=Path, default=ROOT / "docs/results.md", help="report")
    p.add_argument("--notes", type=Path, default=ROOT / "docs/results_notes.md")
    p.add_argument("--report-only", action="store_true", help="only rebuild the report")
    args = p.parse_args(argv)
    if args.hours <= 0:
        p.error("--hours must be positive")
    args.home = args.home.resolve()
    return args


def _records(path: Path) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_records(path)]


def _write(records: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def prepare_data(shared: Path, folder: Path) -> dict[str, Path]:
    """Training questions (a fixed subset of the split) and the never-trained evaluations."""
    folder.mkdir(parents=True, exist_ok=True)
    rationales = shared / "teacher_rationales/svamp_test.jsonl"
    in_split = {r["id"] for r in _records(rationales) if r.get("source_split") == TRAIN_SPLIT}
    svamp = _records(shared / "datasets/svamp/test.jsonl")
    pool = [q for q in svamp if q["id"] in in_split]
    picked = set(random.Random(SUBSET_SEED).sample(range(len(pool)), TRAIN_QUESTIONS))
    train_ids = {q["id"] for i, q in enumerate(pool) if i in picked}
    return {
        "train": _write([q for q in svamp if q["id"] in train_ids], folder / "svamp_train.jsonl"),
        "rationales": rationales,
        "svamp": _write([q for q in svamp if q["id"] not in train_ids], folder / "svamp.jsonl"),
        "strategyqa": shared / "datasets/strategyqa/dev.jsonl",
        "commonsenseqa": _write(
            _records(shared / "datasets/commonsenseqa/dev.jsonl")[:CSQA_QUESTIONS],
            folder / "commonsenseqa.jsonl",
        ),
    }


def _token(home: Path) -> str:
    """The study owner's API token, made once and kept (mode 600) in the home folder."""
    path = home / "token"
    if path.exists():
        return path.read_text().strip()
    env = os.environ | {"MIND_HOME": str(home)}
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True)
    password = os.urandom(16).hex()
    subprocess.run([*cli, "create-user", "--email", EMAIL, "--password", password], env=env)
    out = subprocess.run(
        [*cli, "create-token", "--email", EMAIL], env=env, check=True, capture_output=True
    )
    path.write_text(out.stdout.decode().strip().splitlines()[-1])
    path.chmod(0o600)
    return path.read_text().strip()


@contextmanager
def studio(home: Path, port: int):
    """`mind-studio up` on this home; a cancel leaves a running cell time to checkpoint."""
    env = os.environ | {"MIND_HOME": str(home), "MIND_CANCEL_GRACE_S": "3600"}
    with (home / "studio.log").open("ab") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(1)
        else:
            raise SystemExit(f"the studio did not start: see {home / 'studio.log'}")
        yield url
    finally:
        os.killpg(up.pid, 15)
        up.wait(timeout=120)


def submit(http: httpx.Client, shared: Path, home: Path) -> str:
    """Upload the data and create the study; its id is kept in the home folder."""
    files = prepare_data(shared, home / "data")
    ids = {}
    for name, path in files.items():
        kind = "rationales" if name == "rationales" else "questions"
        with path.open("rb") as handle:
            answer = http.post(
                "/datasets", data={"kind": kind, "name": name}, files={"file": handle}
            )
        answer.raise_for_status()
        ids[name] = answer.json()["id"]
    kinds = {"svamp": "id", "strategyqa": "ood", "commonsenseqa": "ood"}
    config = {
        "student": "smollm2-135m-instruct",
        "perspectives": PERSPECTIVES,
        "data": {
            "questions": ids["train"],
            "rationales": ids["rationales"],
            "source_split": TRAIN_SPLIT,
            "only_correct": True,
        },
        "train": SHARED_TRAIN,
        "eval": {
            "benchmarks": [{"name": n, "dataset": ids[n], "kind": k} for n, k in kinds.items()],
            "curve_questions": CURVE_QUESTIONS,
        },
    }
    spec = {"config": config, "methods": METHODS, "seeds": SEEDS}
    created = http.post("/studies", json={"name": "reference study", "spec": spec})
    if created.status_code != 201:
        raise SystemExit(f"the study was refused: {created.text}")
    (home / "study.json").write_text(json.dumps({"id": created.json()["id"]}) + "\n")
    return created.json()["id"]


def run_chunk(http: httpx.Client, study_id: str, hours: float) -> str:
    """Let the workers run for `hours`, then cancel cleanly; the study's final status."""
    if http.get(f"/studies/{study_id}").json()["status"] in ("cancelled", "failed"):
        http.post(f"/studies/{study_id}/resume").raise_for_status()
    deadline = time.monotonic() + hours * 3600
    while time.monotonic() < deadline:
        study = http.get(f"/studies/{study_id}").json()
        print(f"{study['status']}: {study['progress']:.0%} of the cells", flush=True)
        if study["status"] not in ("running", "cancelling"):
            return study["status"]
        time.sleep(POLL_S)
    http.post(f"/studies/{study_id}/cancel").raise_for_status()
    while (status := http.get(f"/studies/{study_id}").json()["status"]) == "cancelling":
        time.sleep(POLL_S)
    return status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.home.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {_token(args.home)}"}
    with (
        studio(args.home, free_port()) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as http,
    ):
        known = args.home / "study.json"
        study_id = json.loads(known.read_text())["id"] if known.exists() else None
        if study_id is None and not args.report_only:
            study_id = submit(http, args.shared, args.home)
        if study_id is None:
            raise SystemExit(f"no study in {args.home} yet: run without --report-only first")
        status = "" if args.report_only else run_chunk(http, study_id, args.hours)
        study = http.get(f"/studies/{study_id}").json()
        results = http.get(f"/studies/{study_id}/results").json()
    (args.home / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(study, results, args.doc, args.notes)
    print(f"wrote {args.doc}", flush=True)
    return 0 if (status or study["status"]) == "succeeded" else 3


if __name__ == "__main__":
    raise SystemExit(main())
