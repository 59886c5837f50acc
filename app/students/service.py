"""The students a run can use: bundled, in the local Hugging Face cache, or added by a user.

Adding a model either registers a local folder (admins only, and only inside one of
`settings.model_roots`, so no request path reaches the filesystem unchecked) or queues a
worker download of a Hugging Face id into the local cache. Functions never commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Forbidden
from app.queue import DOWNLOAD_MODEL, enqueue
from app.runs.models import Run
from app.settings import Settings
from app.students.exceptions import InvalidModel, ModelNotFound
from app.students.facts import ModelFacts, folder_facts, gguf_facts
from app.students.models import RegisteredModel
from app.students.schemas import ModelOut, RunRef
from app.users.models import User
from mind.bundled import BUNDLED_STUDENTS

RECENT_RUNS = 5
WEIGHT_PATTERNS = ("*.safetensors", "*.bin")


def _facts(facts: ModelFacts | None) -> dict:
    if facts is None:
        return {}
    return {
        "parameters": facts.parameters,
        "dtype": facts.dtype,
        "size_bytes": facts.size_bytes,
        "chat_template": facts.chat_template,
        "architecture": facts.architecture,
    }


def _bundled() -> list[ModelOut]:
    out = []
    for name, (package, filename) in BUNDLED_STUDENTS.items():
        spec = importlib.util.find_spec(package)  # not imported: it needs llama-cpp
        if spec is None or not spec.submodule_search_locations:
            error = f"the '{package}' package is not installed"
            out.append(ModelOut(name=name, source="bundled", status="failed", error=error))
            continue
        facts = gguf_facts(Path(spec.submodule_search_locations[0]) / filename)
        out.append(ModelOut(name=name, source="bundled", status="ready", **_facts(facts)))
    return out


def _cached() -> list[ModelOut]:
    """Model repositories in the local Hugging Face cache, by their newest snapshot."""
    from huggingface_hub import CacheNotFound, scan_cache_dir

    try:
        cache = scan_cache_dir()
    except CacheNotFound:
        return []
    out = []
    for repo in cache.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        if not (newest.snapshot_path / "config.json").is_file():
            continue
        facts = _facts(folder_facts(newest.snapshot_path)) | {"size_bytes": repo.size_on_disk}
        out.append(ModelOut(name=repo.repo_id, source="cache", status="ready", **facts))
    return out


def _registered(row: RegisteredModel, cached: ModelOut | None) -> ModelOut:
    facts = {}
    if cached is not None:
        facts = cached.model_dump(include=set(ModelFacts.__dataclass_fields__))
    elif row.source == "local" and row.status == "ready" and Path(row.name).is_dir():
        facts = _facts(folder_facts(Path(row.name)))
    status = "ready" if cached is not None and row.source == "hub" else row.status
    return ModelOut(
        name=row.name,
        source=row.source,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        registered_id=row.id,
        progress=1.0 if status == "ready" else row.progress,
        downloaded_bytes=row.downloaded_bytes,
        total_bytes=row.total_bytes,
        error=row.error,
        created_at=row.created_at,
        **facts,
    )


def _attach_runs(session: Session, models: list[ModelOut]) -> None:
    names = [m.name for m in models]
    query = select(Run.student, Run.id, Run.name, Run.status).where(Run.student.in_(names))
    by_student: dict[str, list[RunRef]] = {}
    for student, run_id, name, status in session.execute(query.order_by(Run.created_at.desc())):
        by_student.setdefault(student, []).append(RunRef(id=run_id, name=name, status=status))
    for model in models:
        used = by_student.get(model.name, [])
        model.runs, model.recent_runs = len(used), used[:RECENT_RUNS]


def list_models(session: Session) -> list[ModelOut]:
    """Bundled first, then the cache and added models (an added hub id once downloaded
    appears once, with its row's id), each with the runs that used it."""
    cached = {m.name: m for m in _cached()}
    rows = list(session.scalars(select(RegisteredModel).order_by(RegisteredModel.created_at)))
    added = [_registered(row, cached.pop(row.name, None)) for row in rows]
    models = _bundled() + sorted(cached.values(), key=lambda m: m.name.lower()) + added
    _attach_runs(session, models)
    return models


def available_names(session: Session) -> list[str]:
    """Every student a run can start from now (no facts read: cheap enough for a form)."""
    from huggingface_hub import CacheNotFound, scan_cache_dir

    try:
        cached = [r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model"]
    except CacheNotFound:
        cached = []
    ready = select(RegisteredModel.name).where(RegisteredModel.status == "ready")
    return list(dict.fromkeys([*BUNDLED_STUDENTS, *cached, *session.scalars(ready)]))


def get(session: Session, model_id: str) -> RegisteredModel:
    row = session.get(RegisteredModel, model_id)
    if row is None:
        raise ModelNotFound(model_id)
    return row


def describe(session: Session, row: RegisteredModel) -> ModelOut:
    cached = next((m for m in _cached() if m.name == row.name), None)
    model = _registered(row, cached)
    _attach_runs(session, [model])
    return model


def _inside_roots(path: Path, settings: Settings) -> bool:
    return any(path.is_relative_to(root.resolve()) for root in settings.model_roots)


def register_local(session: Session, settings: Settings, user: User, raw: str) -> RegisteredModel:
    """A `save_pretrained` folder inside an allowed root; InvalidModel names `path`."""
    if not user.is_admin:
        raise Forbidden("only an admin can register a local model folder", "path")
    given = Path(raw).expanduser()
    if not given.is_absolute():
        raise InvalidModel(f"{raw!r} is not an absolute path", "path")
    folder = given.resolve()
    if not _inside_roots(folder, settings):
        roots = ", ".join(str(r) for r in settings.model_roots)
        raise InvalidModel(
            f"{raw!r} is outside the model folders ({roots}); an operator sets MIND_MODEL_ROOTS",
            "path",
        )
    _check_folder(folder, raw)
    existing = session.scalar(select(RegisteredModel).where(RegisteredModel.name == str(folder)))
    if existing is not None:
        return existing
    row = RegisteredModel(
        name=str(folder), source="local", status="ready", progress=1.0, owner_id=user.id
    )
    session.add(row)
    session.flush()
    return row


def _check_folder(folder: Path, raw: str) -> None:
    if not (folder / "config.json").is_file():
        raise InvalidModel(f"{raw!r} has no config.json (not a save_pretrained folder)", "path")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidModel(f"{raw!r}: config.json is not valid JSON ({exc})", "path") from None
    if not isinstance(config, dict) or not config.get("model_type"):
        raise InvalidModel(f"{raw!r}: config.json names no model_type", "path")
    if not any(next(folder.glob(p), None) for p in WEIGHT_PATTERNS):
        raise InvalidModel(f"{raw!r} holds no weights (*.safetensors or *.bin)", "path")
    if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        raise InvalidModel(f"{raw!r} holds no tokenizer", "path")


def in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except HFValidationError:
        return False


def request_download(session: Session, user: User, hf_id: str) -> RegisteredModel:
    """A row for `hf_id`: ready at once when cached, else queued for a worker. A failed
    download asked for again is queued again and resumes what was already fetched."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(hf_id)
    except HFValidationError as exc:
        raise InvalidModel(f"{hf_id!r} is not a Hugging Face model id: {exc}", "hf_id") from None
    row = session.scalar(select(RegisteredModel).where(RegisteredModel.name == hf_id))
    if row is None:
        row = RegisteredModel(name=hf_id, source="hub", owner_id=user.id)
        session.add(row)
    elif row.status != "failed":
        return row
    if in_hub_cache(hf_id):
        row.status, row.progress, row.error = "ready", 1.0, None
    else:
        row.status, row.error = "queued", None
    session.flush()
    if row.status == "queued":
        enqueue(session, DOWNLOAD_MODEL, row.id)
    return row


def student_problem(session: Session, student: str) -> str | None:
    """Why a run cannot start from `student`, or None when it can (checked at submit)."""
    row = session.scalar(select(RegisteredModel).where(RegisteredModel.name == student))
    if row is not None and row.status != "ready" and not in_hub_cache(student):
        detail = f": {row.error}" if row.error else ""
        return f"{student!r} is {row.status}{detail}"
    if student in BUNDLED_STUDENTS or (Path(student) / "config.json").is_file():
        return None
    if in_hub_cache(student):
        return None
    return (
        f"{student!r} is not bundled, not a local model folder, nor in the local Hugging Face "
        "cache; add it on the Models page (or POST /api/v1/models) first"
    )
