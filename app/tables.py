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
from app.secrets.models import TeamSecret
from app.students.models import RegisteredModel
from app.studies.models import Study, StudyRun
from app.teachers.models import TeacherJob
from app.users.models import ApiToken, User
from app.webhooks.models import Webhook, WebhookDelivery
from app.workers.models import Worker

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
    "RegisteredModel",
    "Run",
    "RunDataset",
    "RunEvent",
    "Study",
    "StudyRun",
    "TeacherJob",
    "TeamSecret",
    "User",
    "Webhook",
    "WebhookDelivery",
    "Worker",
]
