"""One attempt of one run: claim the row, run the pipeline in a child process, settle it.

The child is a fresh interpreter (`python -m worker.child`) in its own process group: CUDA
state is never forked, and a cancel that outlives its grace period kills the whole group.
A run with `train.devices > 1` is started under torchrun (`child_command`), whose agent
is then the child; its ranks die with it (`worker.child.die_with`).
Only this module moves a run out of `running`/`cancelling`, and only for its own attempt.
A database outage does not end supervision: a failed heartbeat is logged and retried on
the next beat, and the final status is retried until `lost_after_s` (after which the
reconciler, which sees no heartbeat, decides).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from app.db import as_utc, utcnow
from app.queue import unit_of_work
from app.runs import service as runs
from app.runs.models import Run
from app.runs.status import IN_WORKER, RunStatus, move
from app.studies import service as studies
from worker.context import WorkerContext

POLL_S = 0.5
log = logging.getLogger(__name__)


def _run_of_attempt(session: Session, run_id: str, attempt: int) -> Run | None:
    """The run, locked, if it still belongs to this attempt."""
    run = session.get(Run, run_id, with_for_update=True)
    return run if run is not None and run.attempt == attempt else None


def claim(ctx: WorkerContext, run_id: str, attempt: int) -> int | None:
    """The devices the claimed run needs; None if it is not this attempt's to run, or if it
    needs more devices than this worker owns (then it fails, saying so)."""
    with ctx.sessionmaker.begin() as session:
        run = _run_of_attempt(session, run_id, attempt)
        if run is None or run.status != RunStatus.QUEUED:
            return None
        move(run, RunStatus.RUNNING)
        run.heartbeat_at = utcnow()
        run.started_at = run.started_at or run.heartbeat_at
        run.worker = f"{socket.gethostname()}:{os.getpid()}"
        runs.add_event(session, run, "status", f"running on {run.worker}", attempt=attempt)
        devices = int(run.config.get("train", {}).get("devices", 1))
        owned = ctx.devices
        if owned is not None and devices > owned.count:  # routed here by mistake
            move(run, RunStatus.FAILED)
            run.finished_at = utcnow()
            run.error = (
                f"train.devices is {devices} but worker {run.worker} owns {owned.count} "
                f"({owned.device_class})"
            )
            runs.add_event(session, run, "status", run.status, error=run.error)
            return None
    return devices


def child_command(run_id: str, devices: int, supervisor: int) -> list[str]:
    """The run process: plain on one device, `devices` torchrun ranks on this host else."""
    child = ["-m", "worker.child", run_id, str(supervisor)]
    if devices == 1:
        return [sys.executable, *child]
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(devices)]
    return [sys.executable, *torchrun, *child]


def spawn(ctx: WorkerContext, run_id: str, devices: int = 1) -> subprocess.Popen:
    run_dir = ctx.settings.storage / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "child.log").open("ab") as log:
        return subprocess.Popen(
            child_command(run_id, devices, os.getpid()),
            env=os.environ | ctx.settings.child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill_group(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


def watch(ctx: WorkerContext, run_id: str, attempt: int, child: subprocess.Popen) -> None:
    """Heartbeat while the child lives; enforce the cancel grace period; stop if superseded."""
    grace, beat = ctx.settings.cancel_grace_s, min(ctx.settings.heartbeat_s, 1.0)
    last_beat = 0.0
    while child.poll() is None:
        time.sleep(POLL_S)
        if time.monotonic() - last_beat < beat:
            continue
        last_beat = time.monotonic()
        try:
            superseded = not _beat(ctx, run_id, attempt, child, grace)
        except DBAPIError as exc:
            log.warning("heartbeat of run %s failed, retrying next beat: %s", run_id, exc)
            continue
        if superseded:
            _kill_group(child)
            break
    child.wait()
    _kill_group(child)  # anything the run left behind in its group


def _beat(
    ctx: WorkerContext, run_id: str, attempt: int, child: subprocess.Popen, grace: float
) -> bool:
    """Touch the heartbeat; kill the child past its cancel grace. False once superseded."""
    with ctx.sessionmaker.begin() as session:
        run = _run_of_attempt(session, run_id, attempt)
        if run is None or run.status not in IN_WORKER:
            return False
        run.heartbeat_at = utcnow()
        if run.status == RunStatus.CANCELLING and _older_than(run.cancel_requested_at, grace):
            runs.add_event(session, run, "status", f"no clean stop in {grace:g}s: killed")
            _kill_group(child)
    return True


def _older_than(moment: datetime | None, seconds: float) -> bool:
    return moment is not None and (utcnow() - as_utc(moment)).total_seconds() > seconds


def _exit_reason(code: int) -> str:
    if code < 0:
        return f"the run process was killed by signal {signal.Signals(-code).name}"
    return f"the run process exited with code {code}"


def settle(ctx: WorkerContext, run_id: str, attempt: int, code: int) -> str | None:
    """The final status, decided only once the child has exited."""
    with ctx.sessionmaker.begin() as session:
        run = _run_of_attempt(session, run_id, attempt)
        if run is None or run.status not in IN_WORKER:
            return None
        completed = code == 0 and (run.summary or {}).get("status") == "completed"
        if run.status == RunStatus.CANCELLING:
            move(run, RunStatus.CANCELLED)
        elif completed:
            move(run, RunStatus.SUCCEEDED)
            run.progress, run.stage = 1.0, None
        else:
            move(run, RunStatus.FAILED)
            run.error = run.error or (
                "the run stopped before its end" if code == 0 else _exit_reason(code)
            )
        run.finished_at, run.pid = utcnow(), None
        runs.add_event(session, run, "status", run.status, error=run.error)
        return run.status


def execute(ctx: WorkerContext, run_id: str, attempt: int) -> str:
    devices = claim(ctx, run_id, attempt)
    if devices is None:
        return "skipped"
    child = spawn(ctx, run_id, devices)
    with ctx.sessionmaker.begin() as session:
        run = _run_of_attempt(session, run_id, attempt)
        if run is not None:
            run.pid = child.pid
    watch(ctx, run_id, attempt, child)
    retrying = Retrying(
        retry=retry_if_exception_type(DBAPIError),
        wait=wait_fixed(ctx.settings.heartbeat_s),
        stop=stop_after_delay(ctx.settings.lost_after_s),
        reraise=True,
    )
    status = retrying(settle, ctx, run_id, attempt, child.returncode)
    if status is not None:
        with unit_of_work(ctx.sessionmaker, ctx.celery) as session:
            studies.advance_for_run(session, run_id)  # the next cells of its study, if any
    return status or "superseded"
