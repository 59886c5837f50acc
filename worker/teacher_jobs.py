"""A teacher job, run by a worker: generate, judge, summarise, store as a rationale dataset.

Generation goes through the core's cache in the job's folder, so a cancelled or failed job
submitted again pays only for what is missing. The stored dataset holds every generated
rationale with its verdict (`correct`); a run's curation then keeps the accepted ones.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from app.datasets import service as datasets
from app.db import utcnow
from app.teachers.credentials import secret_value, teacher_key
from app.teachers.models import TeacherJob
from app.users.models import User
from mind.config import RunConfig, parse_config
from mind.reporter import NullReporter
from mind.teacher.generate import REPORT_FILE, GenerationStopped, generate_rationales
from worker import jobs
from worker.context import WorkerContext

SAMPLES = 5
SAMPLE_CHARS = 1500
CHARS_PER_TOKEN = 4  # the estimate the pre-flight uses too
PROGRESS_EVERY_S = 1.0
STOP_POLL_S = 1.0


class JobReporter(NullReporter):
    """Progress on the job row (at most once a second); stop once it is `cancelling`."""

    def __init__(self, ctx: WorkerContext, job_id: str):
        self.ctx, self.job_id = ctx, job_id
        self._progress_at = self._stop_at = 0.0
        self._stop = False

    def progress(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1 and now - self._progress_at < PROGRESS_EVERY_S:
            return
        self._progress_at = now
        with self.ctx.sessionmaker.begin() as session:
            job = session.get(TeacherJob, self.job_id)
            if job is not None:
                job.progress = float(fraction)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._stop_at >= STOP_POLL_S:
            self._stop_at = now
            with self.ctx.sessionmaker() as session:
                job = session.get(TeacherJob, self.job_id)
                self._stop = job is None or job.status == "cancelling"
        return self._stop


def summarise(report: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The generation report plus acceptance rate per perspective and estimated tokens."""
    for counts in report["perspectives"].values():
        counts["acceptance_rate"] = (
            counts["accepted"] / counts["requested"] if counts["requested"] else None
        )
    totals = report["totals"]
    totals["acceptance_rate"] = (
        totals["accepted"] / totals["requested"] if totals["requested"] else None
    )
    chars = sum(len(r["rationale"]) for r in records)
    report["rationale_tokens_estimated"] = chars // CHARS_PER_TOKEN
    return report


def samples(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The first few accepted and rejected rationales, shortened for display."""
    keep = ("id", "perspective", "question", "answer", "rationale_answer", "rationale")
    out: dict[str, list[dict[str, Any]]] = {"accepted": [], "rejected": []}
    for record in records:
        bucket = out["accepted" if record["correct"] else "rejected"]
        if len(bucket) < SAMPLES:
            shown = {k: record.get(k) for k in keep}
            shown["rationale"] = str(shown["rationale"])[:SAMPLE_CHARS]
            bucket.append(shown)
    return out


def _claim(ctx: WorkerContext, job_id: str) -> tuple[RunConfig, str] | None:
    """(execution config, owner id) of a queued job, now `running`; None if not queued."""
    with ctx.sessionmaker.begin() as session:
        job = session.get(TeacherJob, job_id, with_for_update=True)
        if job is None or job.status != "queued":
            return None
        job.status, job.started_at = "running", utcnow()
        jobs.claimed(job)
        questions = datasets.get(session, job.questions_id)
        raw = {**job.config, "data": {**job.config["data"]}}
        raw["data"]["questions"] = str(datasets.file_path(ctx.settings, questions))
        return parse_config(raw), job.owner_id


def _finish(ctx: WorkerContext, job_id: str, **fields: Any) -> str:
    with ctx.sessionmaker.begin() as session:
        job = session.get(TeacherJob, job_id)
        if job is None:
            return "vanished"
        for name, value in fields.items():
            setattr(job, name, value)
        job.finished_at = utcnow()
        return job.status


def _store(ctx: WorkerContext, job_id: str, owner_id: str, path: Path, out_dir: Path) -> str:
    """Store the rationales as a dataset and the job's summary; the job ends `succeeded`."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    report = json.loads((out_dir / REPORT_FILE).read_text(encoding="utf-8"))
    with ctx.sessionmaker.begin() as session:
        job = session.get(TeacherJob, job_id)
        owner = session.get(User, owner_id)
        assert job is not None and owner is not None
        with path.open("rb") as handle:
            dataset, _ = datasets.upload(
                session, ctx.settings, owner, handle, "rationales.jsonl", "rationales", job.name
            )
        job.status, job.progress, job.finished_at = "succeeded", 1.0, utcnow()
        job.rationales_id = dataset.id
        job.report, job.samples = summarise(report, records), samples(records)
    return "succeeded"


def execute(ctx: WorkerContext, job_id: str) -> str:
    claimed = _claim(ctx, job_id)
    if claimed is None:
        return "skipped"
    config, owner_id = claimed
    out_dir = ctx.settings.storage / "teacher_jobs" / job_id
    try:
        with ctx.sessionmaker() as session:
            key = secret_value(session, ctx.settings, config)
        with teacher_key(config, key) as keyed, jobs.beating(ctx, TeacherJob, job_id):
            path = generate_rationales(keyed, out_dir, JobReporter(ctx, job_id))
        return _store(ctx, job_id, owner_id, path, out_dir)
    except GenerationStopped:
        return _finish(ctx, job_id, status="cancelled")
    except Exception as exc:
        return _finish(ctx, job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
