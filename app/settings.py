"""Service settings, read from `MIND_*` environment variables when the app or worker starts.

Nothing here is read at import time: `create_app` and the worker build a `Settings` in their
lifespan, so tests and the CLI pass their own without patching the environment.
"""

from __future__ import annotations

import json
from pathlib import Path

from limits import parse
from pydantic import Field, field_validator, model_validator
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
    # What an upload may expand to once decoded (a compressed Parquet file can hold far more).
    max_decoded_bytes: int = Field(256 * 1024 * 1024, gt=0, description="Decoded text limit.")
    max_upload_rows: int = Field(1_000_000, gt=0, description="Records in one uploaded file.")
    max_json_depth: int = Field(
        32, gt=0, description="Deepest nesting of a JSON request body or an uploaded record."
    )
    preview_rows: int = Field(5, gt=0)
    page_size_max: int = Field(200, gt=0)
    # Request handling under load and bad input.
    db_pool_size: int = Field(
        10,
        gt=0,
        description="Postgres connections per web process; requests beyond it wait their turn.",
    )
    sqlite_pool_size: int = Field(
        4,
        gt=0,
        description=(
            "SQLite connections per web process. One local file and one Python process: more "
            "connections only add threads contending for the GIL (docs/benchmarks.md)."
        ),
    )
    db_wait_s: float = Field(
        30.0, gt=0, description="Longest a request waits for a connection before a 503."
    )
    max_json_bytes: int = Field(1024 * 1024, gt=0, description="Largest JSON request body.")
    # Rate limits (`limits` notation, e.g. "10 per 15 minutes").
    rate_limit_storage: str = Field(
        "", description="`limits` storage URI. Default: the Redis broker, else in memory."
    )
    signin_failures: str = Field(
        "10 per 15 minutes", description="Failed sign-ins per email, then locked out."
    )
    signin_attempts: str = Field("30 per minute", description="Sign-in attempts per client.")
    bad_token_attempts: str = Field(
        "30 per minute", description="Invalid bearer tokens per client before 429."
    )
    # Worker supervision; all in seconds.
    cancel_grace_s: float = Field(60.0, gt=0, description="Cooperative stop before SIGKILL.")
    heartbeat_s: float = Field(
        5.0, gt=0, description="How often a worker touches the run or job it holds."
    )
    lost_after_s: float = Field(120.0, gt=0, description="Heartbeat age of a lost run or job.")
    reconcile_every_s: float = Field(60.0, gt=0)
    max_attempts: int = Field(
        3, gt=0, description="Resumes of a lost run (or job) before it fails."
    )
    dispatch_after_s: float = Field(
        30.0, gt=0, description="Age of a queued run whose task never reached the broker."
    )
    visibility_timeout_s: int = Field(7 * 24 * 3600, gt=0, description="Above the longest run.")
    # Devices and queues (app/workers; docs/service.md, "Devices and queues").
    worker_devices: int | None = Field(
        None,
        gt=0,
        description="Devices this worker advertises, the most one run may use on it "
        "(train.devices, as torchrun ranks). Default: the CUDA devices it sees, else 1.",
    )
    worker_device_class: str = Field(
        "",
        pattern=r"^[a-z0-9-]*$",
        description="Device class this worker advertises, e.g. 'cuda-h200' "
        "(default: 'cuda-' and the GPU's normalised name, else 'cpu').",
    )
    fleet: dict[str, int] = Field(
        default_factory=dict,
        description="Device classes and the most devices one worker of each owns, counted "
        'as if advertised, e.g. {"cuda-h200": 8}: runs on several devices can then be '
        "submitted while those workers are not (yet) running.",
    )
    advertise_every_s: float = Field(15.0, gt=0, description="How often a worker re-advertises.")
    worker_stale_s: float = Field(
        60.0, gt=0, description="Age of an advert past which routing no longer counts it."
    )
    # Bring your own model and teacher (docs/service.md, "Models" and "Teacher jobs").
    model_roots: list[Path] = Field(
        default_factory=list,
        description="Folders under which admins may register local models (default: home/models).",
    )
    secret_key: str = Field(
        "", description="Fernet key for team secrets (default: a key file under `home`)."
    )
    teacher_test_timeout_s: float = Field(20.0, gt=0, description="'Test connection' limit.")
    # Webhooks (app/webhooks): attempts per delivery, exponential backoff between them.
    webhook_attempts: int = Field(5, gt=0, description="Tries per delivery, the first included.")
    webhook_backoff_s: float = Field(2.0, gt=0, description="First wait; doubles each retry.")
    webhook_max_backoff_s: float = Field(300.0, gt=0, description="Longest wait between tries.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Per-attempt HTTP timeout.")
    webhook_private_targets: bool = Field(
        False,
        description=(
            "Let webhooks POST to loopback, private and link-local addresses (off: a user's "
            "URL could otherwise reach the studio's own network)."
        ),
    )
    # Playground and exports (app/playground): inference in the web tier, never the worker.
    inference_device: str = Field("cpu", description="Device of playground models (cpu, cuda:N).")
    inference_concurrency: int = Field(2, gt=0, description="Generations or exports at once.")
    inference_models: int = Field(2, gt=0, description="Loaded models kept in memory (LRU).")
    playground_max_new_tokens: int = Field(512, gt=0, description="Longest playground answer.")

    @field_validator("signin_failures", "signin_attempts", "bad_token_attempts")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like '10 per 15 minutes'") from None
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        """Embedded default: everything under `home`, nothing to install or run."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'studio.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.home / 'broker.db'}"
        if self.storage_dir is None:
            self.storage_dir = self.home / "storage"
        if not self.rate_limit_storage:
            redis = self.broker_url.startswith(("redis://", "rediss://"))
            self.rate_limit_storage = self.broker_url if redis else "memory://"
        if not self.model_roots:
            self.model_roots = [self.home / "models"]
        if self.worker_stale_s <= 2 * self.advertise_every_s:
            raise ValueError(
                f"worker_stale_s={self.worker_stale_s} must exceed twice "
                f"advertise_every_s={self.advertise_every_s}"
            )
        if self.lost_after_s <= 2 * self.heartbeat_s:
            raise ValueError(
                f"lost_after_s={self.lost_after_s} must exceed twice heartbeat_s={self.heartbeat_s}"
            )
        return self

    @property
    def storage(self) -> Path:
        assert self.storage_dir is not None
        return self.storage_dir

    @property
    def pool_size(self) -> int:
        """Connections (and admitted requests) per web process for this database."""
        sqlite = self.database_url.startswith("sqlite")
        return self.sqlite_pool_size if sqlite else self.db_pool_size

    def child_env(self) -> dict[str, str]:
        """The variables that give a child process (worker, run) these same settings."""
        return {
            f"MIND_{name.upper()}": json.dumps(value)
            if isinstance(value, list | dict)
            else str(value)
            for name, value in self.model_dump(mode="json").items()
            if value is not None
        }
