"""Service settings, read from `MIND_*` environment variables when the app or worker starts.

Nothing here is read at import time: `create_app` and the worker build a `Settings` in their
lifespan, so tests and the CLI pass their own without patching the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".mind-studio"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIND_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Embedded-mode data folder.")
    database_url: str = Field("", description="Default: SQLite file under `home`.")
    broker_url: str = Field("", description="Default: SQLite-backed kombu broker under `home`.")
    storage_dir: Path | None = Field(None, description="Uploads and run folders (shared volume).")
    queue: str = Field("mind-runs", description="Celery queue the run tasks go to.")
    port: int = Field(8000, gt=0, lt=65536, description="Port of `web` and `up` (--port wins).")
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0)
    preview_rows: int = Field(5, gt=0)
    page_size_max: int = Field(200, gt=0)
    # Worker supervision; all in seconds.
    cancel_grace_s: float = Field(60.0, gt=0, description="Cooperative stop before SIGKILL.")
    heartbeat_s: float = Field(5.0, gt=0, description="How often a supervisor touches its run.")
    lost_after_s: float = Field(120.0, gt=0, description="Heartbeat age of a lost run.")
    reconcile_every_s: float = Field(60.0, gt=0)
    max_attempts: int = Field(3, gt=0, description="Resumes of a lost run before it fails.")
    visibility_timeout_s: int = Field(7 * 24 * 3600, gt=0, description="Above the longest run.")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        """Embedded default: everything under `home`, nothing to install or run."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'studio.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.home / 'broker.db'}"
        if self.storage_dir is None:
            self.storage_dir = self.home / "storage"
        if self.lost_after_s <= 2 * self.heartbeat_s:
            raise ValueError(
                f"lost_after_s={self.lost_after_s} must exceed twice heartbeat_s={self.heartbeat_s}"
            )
        return self

    @property
    def storage(self) -> Path:
        assert self.storage_dir is not None
        return self.storage_dir

    def child_env(self) -> dict[str, str]:
        """The variables that give a child process (worker, run) these same settings."""
        return {
            f"MIND_{name.upper()}": str(value)
            for name, value in self.model_dump().items()
            if value is not None
        }
