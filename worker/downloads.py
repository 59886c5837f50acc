"""A Hugging Face model download, run by a worker: into the local hub cache, with progress.

`huggingface_hub.snapshot_download` keeps partly fetched files and resumes them, so a
failed download asked for again continues where it stopped. Workers start with
`HF_HUB_OFFLINE=1` unless their environment sets `HF_HUB_OFFLINE=0`; offline, the
download fails at once with a message saying so.
"""

from __future__ import annotations

import time
from typing import Any

from tqdm.auto import tqdm

from app.db import utcnow
from app.students.models import RegisteredModel
from worker import jobs
from worker.context import WorkerContext

PROGRESS_EVERY_S = 1.0


def explain(repo_id: str, exc: Exception) -> str:
    """One sentence a user can act on, for any way a download fails."""
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return f"{repo_id!r} is gated: accept its licence on the Hub and set HF_TOKEN on the worker"
    if isinstance(exc, RepositoryNotFoundError):
        return f"no model {repo_id!r} on the Hugging Face Hub (or it is private: set HF_TOKEN)"
    if isinstance(exc, OfflineModeIsEnabled) or isinstance(exc.__cause__, OfflineModeIsEnabled):
        return (
            f"cannot download {repo_id!r}: the worker is offline (HF_HUB_OFFLINE=1) and the model "
            "is not in its Hugging Face cache; start the worker with HF_HUB_OFFLINE=0, or copy "
            "the model folder under MIND_MODEL_ROOTS and register the path"
        )
    if isinstance(exc, LocalEntryNotFoundError):
        return f"cannot reach the Hugging Face Hub to download {repo_id!r}: {exc.__cause__ or exc}"
    return f"download of {repo_id!r} failed: {type(exc).__name__}: {exc}"


def _progress_bar(ctx: WorkerContext, model_id: str) -> type[tqdm]:
    """A tqdm class whose byte bars write the download's progress to its row, once a second."""
    last = [0.0]

    class Progress(tqdm):
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            now = time.monotonic()
            if self.unit == "B" and self.total and now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                with ctx.sessionmaker.begin() as session:
                    row = session.get(RegisteredModel, model_id)
                    if row is not None:
                        row.downloaded_bytes, row.total_bytes = int(self.n), int(self.total)
                        row.progress = min(1.0, self.n / self.total)
            return shown

    return Progress


def download(ctx: WorkerContext, model_id: str) -> str:
    """Fetch a queued model; the row ends `ready` or `failed` with the reason."""
    with ctx.sessionmaker.begin() as session:
        row = session.get(RegisteredModel, model_id, with_for_update=True)
        if row is None or row.status != "queued":
            return "skipped"
        row.status, repo_id = "downloading", row.name
        jobs.claimed(row)
    from huggingface_hub import snapshot_download

    try:
        with jobs.beating(ctx, RegisteredModel, model_id):
            snapshot_download(repo_id, tqdm_class=_progress_bar(ctx, model_id))
    except Exception as exc:
        status, error = "failed", explain(repo_id, exc)
    else:
        status, error = "ready", None
    with ctx.sessionmaker.begin() as session:
        row = session.get(RegisteredModel, model_id)
        if row is not None:
            row.status, row.error, row.finished_at = status, error, utcnow()
            if status == "ready":
                row.progress = 1.0
    return status
