"""Every table, imported in one place so `Base.metadata` is complete (Alembic, tests)."""

from app.datasets.models import Dataset, RunDataset
from app.db import Base
from app.results.models import (
    Artifact,
    Checkpoint,
    EvaluationResult,
    LatentAnalysis,
    MetricPoint,
    PerspectiveWeight,
)
from app.runs.models import Run, RunEvent
from app.studies.models import Study, StudyRun
from app.users.models import ApiToken, User

__all__ = [
    "ApiToken",
    "Artifact",
    "Base",
    "Checkpoint",
    "Dataset",
    "EvaluationResult",
    "LatentAnalysis",
    "MetricPoint",
    "PerspectiveWeight",
    "Run",
    "RunDataset",
    "RunEvent",
    "Study",
    "StudyRun",
    "User",
]
