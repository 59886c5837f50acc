"""What a download of a run's artifact sends, for the API and the run page alike: the
adapter as its portable export, a folder as a zip built for this request, a file as is."""

from __future__ import annotations

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from app.playground.exports import send_latest_adapter
from app.results import service as results
from app.runs.models import Run
from app.settings import Settings


def artifact_response(session: Session, settings: Settings, run: Run, name: str) -> FileResponse:
    """NotFound if the run has no such artifact or its file is gone."""
    if name == "adapter":
        results.artifact(session, run.id, name)
        return send_latest_adapter(session, settings, run)
    path, filename, cleanup = results.artifact_file(session, settings, run.id, name)
    return FileResponse(path, filename=filename, background=cleanup)
