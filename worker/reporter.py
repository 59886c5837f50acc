"""`DbReporter`: the pipeline's Reporter, writing straight into the studio database.

Each call is its own short transaction, so the web app sees progress as it happens and a
killed run loses at most the call in flight. A call that meets a database outage retries
for up to OUTAGE_S (the whole transaction again), so a restart of the database pauses the
run instead of failing it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from app.results import service as results
from app.runs.models import Run, RunEvent
from app.runs.status import RunStatus
from mind.step_record import StepRecord

PROGRESS_EVERY_S = 1.0
STOP_POLL_S = 1.0
OUTAGE_S = 120.0

outlasts_outages = retry(  # a database restart pauses a run; it does not fail it
    retry=retry_if_exception_type(DBAPIError),
    wait=wait_fixed(1.0),
    stop=stop_after_delay(OUTAGE_S),
    reraise=True,
)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


class DbReporter:
    def __init__(self, factory: sessionmaker, storage: Path, run: Run, base_dir: Path):
        self.factory, self.storage, self.run_id = factory, storage, run.id
        self.run_dir = storage / run.directory
        self.base_dir = base_dir
        self._progress_at = 0.0
        self._stage: str | None = None
        self._stop_at, self._stop = 0.0, False

    def _rel(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.storage.resolve()))

    def _event(self, session: Session, kind: str, message: str, **data: Any) -> None:
        """Paths under the storage directory are logged relative to it (no server paths)."""
        data = _jsonable(data)
        for root in {str(self.storage.resolve()) + "/", str(self.storage) + "/"}:
            message = message.replace(root, "")
            data = {k: v.replace(root, "") if isinstance(v, str) else v for k, v in data.items()}
        session.add(RunEvent(run_id=self.run_id, kind=kind, message=message, data=data))

    @outlasts_outages
    def event(self, kind: str, message: str, **data: Any) -> None:
        with self.factory.begin() as session:
            self._event(session, kind, message, **data)
            if kind == "checkpoint":
                path = self.storage / self._rel(Path(data["path"]))
                results.record_checkpoint(session, self.storage, self.run_id, data["step"], path)

    @outlasts_outages
    def progress(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self._stage and fraction < 1 and now - self._progress_at < PROGRESS_EVERY_S:
            return
        self._stage, self._progress_at = stage, now
        with self.factory.begin() as session:
            run = session.get(Run, self.run_id)
            if run is not None:
                run.stage, run.progress = stage, float(fraction)

    @outlasts_outages
    def log_step(self, record: dict[str, Any]) -> None:
        with self.factory.begin() as session:
            results.record_step(session, self.run_id, StepRecord.from_dict(record))

    @outlasts_outages
    def artifact(self, name: str, path: Path) -> None:
        with self.factory.begin() as session:
            path = self.storage / self._rel(path)
            results.record_artifact(session, self.storage, self.run_id, name, path)
            self._event(session, "artifact", f"wrote {name}", name=name)

    @outlasts_outages
    def result(self, kind: str, data: dict[str, Any]) -> None:
        with self.factory.begin() as session:
            if kind == "evaluation":
                results.record_evaluation(
                    session, self.run_id, self._rel(self.run_dir), self._rel(self.base_dir), data
                )
            elif kind == "latent":
                results.record_latent(session, self.run_id, data)
            elif kind == "curve":
                results.record_curve(session, self.run_id, data)
            self._event(session, "result", f"{kind} result", result=kind)

    @outlasts_outages
    def should_stop(self) -> bool:
        """True once the run is `cancelling`; read at most once a second."""
        now = time.monotonic()
        if not self._stop and now - self._stop_at >= STOP_POLL_S:
            self._stop_at = now
            with self.factory() as session:
                run = session.get(Run, self.run_id)
                self._stop = run is None or run.status == RunStatus.CANCELLING
        return self._stop
