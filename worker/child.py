"""The run process: `python -m worker.child RUN_ID SUPERVISOR_PID`.

It loads the run's frozen config, resolves dataset ids to files and calls the pipeline
with a database reporter. It dies with its supervisor (Linux parent-death signal), so a
worker killed with -9 leaves no orphan training behind for the reconciler to race.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback

from sqlalchemy.orm import sessionmaker

from app.db import make_engine, make_sessionmaker
from app.runs.config import execution_config
from app.runs.models import Run
from app.settings import Settings
from app.teachers.credentials import secret_value, teacher_key
from mind.config import RunConfig
from mind.methods import METHODS
from worker.reporter import DbReporter, outlasts_outages

PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the supervisor died before the signal was armed
        os._exit(1)


@outlasts_outages
def _load(factory: sessionmaker, settings: Settings, run_id: str) -> tuple[Run, RunConfig]:
    with factory() as session:
        run = session.get(Run, run_id)
        assert run is not None, f"run {run_id} vanished"
        return run, execution_config(session, settings, run.config)


@outlasts_outages
def _secret(factory: sessionmaker, settings: Settings, config: RunConfig) -> str | None:
    with factory() as session:
        return secret_value(session, settings, config)


def main(run_id: str, parent: int) -> int:
    die_with(parent)
    settings = Settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    run, config = _load(factory, settings, run_id)
    resume = run.resume
    out_dir = settings.storage / run.directory
    base_dir = out_dir / "base" if METHODS[config.method].trains else out_dir
    reporter = DbReporter(factory, settings.storage, run, base_dir)
    from mind.pipeline import run_pipeline

    try:
        with teacher_key(config, _secret(factory, settings, config)) as keyed:
            summary = run_pipeline(keyed, out_dir, reporter, resume=resume)
    except Exception as exc:
        traceback.print_exc()
        with factory.begin() as session:
            failed = session.get(Run, run_id)
            if failed is not None:
                failed.error = f"{type(exc).__name__}: {exc}"
        return 1
    with factory.begin() as session:
        done = session.get(Run, run_id)
        if done is not None:
            done.summary = summary
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
