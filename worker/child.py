"""The run process: `python -m worker.child RUN_ID SUPERVISOR_PID`.

It loads the run's frozen config, resolves dataset ids to files and calls the pipeline
with a database reporter. It dies with its supervisor (Linux parent-death signal), so a
worker killed with -9 leaves no orphan training behind for the reconciler to race.

A run with `train.devices > 1` is N of these processes started by torchrun's agent
(`worker.supervisor.child_command`). Rank 0 runs the pipeline and alone reports to the
database; the other ranks only train beside it (`mind.pipeline.follow_training`) and
write nothing. Each rank dies with the agent (its parent) and watches the supervisor,
which the agent itself would outlive.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
import traceback
from pathlib import Path

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


def die_with(supervisor: int) -> None:
    """Exit when the supervisor does: its child directly, or a torchrun rank through it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.getppid()
    if parent == supervisor:
        return
    if _under_torchrun() and _parent_of(parent) == supervisor:
        _exit_when_gone(supervisor)  # the agent is our parent, and outlives a killed worker
        return
    os._exit(1)  # the supervisor (or the agent) died before the signal was armed


def _under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _exit_when_gone(pid: int) -> None:
    """A daemon thread that ends this process once `pid` has exited (Linux pidfd)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        os._exit(1)

    def wait() -> None:
        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=wait, name="supervisor-watch", daemon=True).start()


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _released(out_dir: Path) -> Path:
    """Marked by rank 0 of this torchrun launch once it has left its pipeline."""
    return out_dir / f".rank0-done-{os.environ.get('TORCHELASTIC_RUN_ID', 'none')}"


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
    if _rank() != 0:
        return follow(config, out_dir)
    for old in out_dir.glob(".rank0-done-*"):  # markers of earlier launches
        old.unlink(missing_ok=True)
    try:
        return lead(factory, settings, run, config, out_dir, resume)
    finally:
        if _under_torchrun():
            out_dir.mkdir(parents=True, exist_ok=True)
            _released(out_dir).touch()


def follow(config: RunConfig, out_dir: Path) -> int:
    """Another rank than 0: train beside rank 0; its errors reach the run through rank 0."""
    from mind.pipeline import follow_training

    try:
        follow_training(config, out_dir, _released(out_dir).exists)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def lead(
    factory: sessionmaker,
    settings: Settings,
    run: Run,
    config: RunConfig,
    out_dir: Path,
    resume: bool,
) -> int:
    """Rank 0 (or the only process): the whole pipeline, reported to the database."""
    run_id = run.id
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
