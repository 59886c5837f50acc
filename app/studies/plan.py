"""A study's plan: its cells (label, method, config), checked before anything is queued.

Fairness is enforced here: a cell may only change what makes its method what it is
(`mind.*`, the sft/specialist perspective), so every method shares the data, the student,
the learning-rate schedule, the step budget and the evaluation settings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.preflight.service import check_data
from app.runs import config as run_config
from app.runs.exceptions import InvalidConfig
from app.settings import Settings
from app.studies.exceptions import InvalidSpec
from app.studies.schemas import StudySpec

BUDGETS = ("steps", "tokens")
BASE_METHOD = "zero_shot"
CELL_KEYS = ("mind", "train.sft_perspective", "train.specialist_perspective")


@dataclass(frozen=True)
class Cell:
    label: str
    method: str
    overrides: dict[str, Any]

    @property
    def trains(self) -> bool:
        return self.method != BASE_METHOD


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _flat_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        keys += _flat_keys(value, dotted + ".") if isinstance(value, dict) else [dotted]
    return keys


def _check_overrides(i: int, overrides: dict[str, Any]) -> None:
    for key in _flat_keys(overrides):
        if not any(key == k or key.startswith(k + ".") for k in CELL_KEYS):
            raise InvalidSpec(
                f"methods.{i}.overrides.{key}",
                f"a cell may only change {', '.join(CELL_KEYS)}: every method shares the "
                "data, student, schedule, budget and evaluation",
            )


def _cell(method: dict[str, Any]) -> Cell:
    return Cell(method["label"], method["method"], method["overrides"])


def cells(spec: dict[str, Any]) -> list[Cell]:
    """Every method of the frozen spec, the base student first."""
    return [_cell(m) for m in spec["methods"]]


def cell_config(spec: dict[str, Any], cell: Cell, seed: int, max_steps: int | None = None):
    """The raw run config of one cell at one seed (and step budget)."""
    raw = merge(spec["config"], cell.overrides) | {"method": cell.method, "seed": seed}
    if max_steps is not None:
        raw = merge(raw, {"train": {"max_steps": max_steps}})
    return raw


def _check_cell(session: Session, settings: Settings, i: int, raw: dict[str, Any]) -> None:
    """As a run's submit checks it, data included (`check_data`): the cells queued later
    are not checked again."""
    try:
        check_data(settings, run_config.check(session, raw))
    except InvalidConfig as exc:
        key = (exc.field or "config").removeprefix("config").lstrip(".")
        own = any(key == k or key.startswith(k + ".") for k in CELL_KEYS)
        where = f"methods.{i}.overrides" if own else "config"
        raise InvalidSpec(f"{where}.{key}".rstrip("."), exc.message) from None


def freeze(session: Session, settings: Settings, spec: StudySpec) -> dict[str, Any]:
    """The spec with labels filled in and the base student's cell first; each cell's
    config checked as a run's would be. Raises InvalidSpec naming the key."""
    if len(set(spec.seeds)) != len(spec.seeds):
        raise InvalidSpec("seeds", f"duplicate seeds in {spec.seeds}")
    methods = []
    for i, cell in enumerate(spec.methods):
        _check_overrides(i, cell.overrides)
        method = {"label": cell.label or cell.method} | cell.model_dump(exclude={"label"})
        raw = cell_config({"config": spec.config}, _cell(method), spec.seeds[0])
        _check_cell(session, settings, i, raw)
        methods.append(method)
    labels = [m["label"] for m in methods]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise InvalidSpec(f"methods.{i}.label", f"{label!r} is used twice: give each a label")
    if not any(m["method"] == BASE_METHOD for m in methods):
        if BASE_METHOD in labels:
            raise InvalidSpec("methods", f"the label {BASE_METHOD!r} is the base student's")
        methods.insert(0, {"label": BASE_METHOD, "method": BASE_METHOD, "overrides": {}})
    methods.sort(key=lambda m: m["method"] != BASE_METHOD)
    if sum(m["method"] == BASE_METHOD for m in methods) > 1:
        raise InvalidSpec("methods", "the base student (zero_shot) is one cell, not several")
    trained = [m["label"] for m in methods if m["method"] != BASE_METHOD]
    if not trained:
        raise InvalidSpec("methods", "a study needs at least one method that trains")
    reference = spec.token_budget_reference or trained[0]
    if reference not in trained:
        raise InvalidSpec("token_budget_reference", f"{reference!r} is not a trained method")
    return {
        "config": spec.config,
        "methods": methods,
        "seeds": spec.seeds,
        "token_budget_reference": reference,
    }


def planned_rows(spec: dict[str, Any]) -> int:
    """Cells over both budgets: the base student once per budget, the rest per seed."""
    trained = sum(c.trains for c in cells(spec))
    return len(BUDGETS) * (1 + trained * len(spec["seeds"]))
