from __future__ import annotations

from app.errors import Invalid, NotFound


class ModelNotFound(NotFound):
    def __init__(self, model_id: str):
        super().__init__(f"no registered model {model_id!r}", "model_id")


class InvalidModel(Invalid):
    """A model that cannot be added; `field` names the request field at fault."""
