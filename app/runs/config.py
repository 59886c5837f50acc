"""A submitted run config: validated before queueing, resolved to file paths at execution.

Submitted configs name datasets by id (`data.questions`, `data.rationales`,
`eval.benchmarks[i].dataset`); server paths are refused so a user can only read what was
uploaded. The frozen snapshot keeps the ids; `execution_config` turns them into paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.datasets import service as datasets
from app.datasets.exceptions import DatasetNotFound
from app.datasets.models import Dataset
from app.runs.exceptions import InvalidConfig
from app.settings import Settings
from app.students import service as models
from app.teachers.credentials import teacher_problem
from app.workers import service as workers
from mind import perspectives
from mind.config import ConfigError, RunConfig, parse_config
from mind.evaluate import check_benchmark_name


@dataclass
class CheckedConfig:
    """A parsed run config whose dataset ids were found, with their rows by role."""

    config: RunConfig
    datasets: dict[str, Dataset] = field(default_factory=dict)  # role -> dataset


def _dataset(session: Session, dataset_id: str, kind: str, key: str) -> Dataset:
    try:
        dataset = datasets.get(session, dataset_id)
    except DatasetNotFound:
        raise InvalidConfig(key, f"no dataset {dataset_id!r}") from None
    if dataset.kind != kind:
        raise InvalidConfig(key, f"dataset {dataset_id!r} holds {dataset.kind}, not {kind}")
    return dataset


def check(session: Session, raw: Any) -> CheckedConfig:
    """Everything that can be checked before queueing; InvalidConfig names the key."""
    try:
        config = parse_config(raw)
    except ConfigError as exc:
        _refuse_unroutable(session, raw)  # no worker could take it: the first thing to say
        raise InvalidConfig(exc.key, exc.message) from None
    checked = CheckedConfig(config)
    data = config.data
    if data.questions:
        checked.datasets["questions"] = _dataset(
            session, data.questions, "questions", "data.questions"
        )
    if data.rationales:
        checked.datasets["rationales"] = _dataset(
            session, data.rationales, "rationales", "data.rationales"
        )
    names: set[str] = set()
    for i, bench in enumerate(config.eval.benchmarks):
        try:
            check_benchmark_name(bench.name)
        except ValueError as exc:
            raise InvalidConfig(f"eval.benchmarks.{i}.name", str(exc)) from None
        if bench.name in names:
            raise InvalidConfig(f"eval.benchmarks.{i}.name", f"{bench.name!r} is used twice")
        names.add(bench.name)
        if bench.path is not None:
            raise InvalidConfig(
                f"eval.benchmarks.{i}.path", "name an uploaded dataset with `dataset: ID`"
            )
        key = f"eval.benchmarks.{i}.dataset"
        checked.datasets[f"benchmark:{bench.name}"] = _dataset(
            session, str(bench.dataset), "questions", key
        )
    _check_perspectives(checked)
    problem = models.student_problem(session, config.student)
    if problem:
        raise InvalidConfig("student", problem)
    teacher = config.teacher and teacher_problem(session, config.teacher)
    if teacher:
        raise InvalidConfig(f"teacher.{teacher[0]}", teacher[1])
    _route(session, config.train.devices, config.train.device)
    return checked


def _route(session: Session, devices: int, device: str) -> None:
    """A worker owns the devices the run asks for (or it could never start)."""
    try:
        workers.route(session, devices, device)
    except workers.NoCapacity as exc:
        raise InvalidConfig(exc.key, exc.message) from None


def _refuse_unroutable(session: Session, raw: Any) -> None:
    """For a config that fails validation: if its (well-typed) device request is one no
    worker can meet, say so instead, since fixing anything else would not help."""
    train = raw.get("train") if isinstance(raw, dict) else None
    if not isinstance(train, dict):
        return
    devices, device = train.get("devices", 1), train.get("device", "auto")
    if isinstance(devices, int) and devices > 1 and isinstance(device, str):
        _route(session, devices, device)


def _check_perspectives(checked: CheckedConfig) -> None:
    """Known ids; and without a teacher to write rationales, each one chosen (and the
    specialist's) must have rationales in the uploaded data, or training finds none."""
    config = checked.config
    rationales = checked.datasets.get("rationales")
    seen = set(rationales.report.get("perspectives", {})) if rationales else set()
    custom = [
        perspectives.Perspective(c.id, c.name, c.instruction) for c in config.custom_perspectives
    ]
    try:
        perspectives.resolve(config.perspectives or [], custom, seen)
    except ValueError as exc:
        raise InvalidConfig("perspectives", str(exc)) from None
    if rationales is None or config.teacher is not None:
        return
    wanted = [(f"perspectives.{i}", p) for i, p in enumerate(config.perspectives or [])]
    if config.method == "specialist":
        wanted.append(("train.specialist_perspective", config.train.specialist_perspective))
    if config.train.sft_perspective is not None:
        wanted.append(("train.sft_perspective", config.train.sft_perspective))
    for key, perspective in wanted:
        if perspective not in seen:
            raise InvalidConfig(
                key,
                f"{perspective!r} has no rationales in dataset {rationales.id!r}, "
                f"which holds {sorted(seen)}",
            )


def execution_config(session: Session, settings: Settings, frozen: dict[str, Any]) -> RunConfig:
    """The frozen snapshot with every dataset id replaced by its stored file's path."""
    raw = {**frozen, "data": dict(frozen["data"]), "eval": dict(frozen["eval"])}

    def path(dataset_id: str) -> str:
        return str(datasets.file_path(settings, datasets.get(session, dataset_id)))

    for role in ("questions", "rationales"):
        if raw["data"].get(role):
            raw["data"][role] = path(raw["data"][role])
    raw["eval"]["benchmarks"] = [
        {**b, "path": path(b["dataset"]), "dataset": None} for b in raw["eval"]["benchmarks"]
    ]
    return parse_config(raw)
