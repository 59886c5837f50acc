"""Everything training needs from disk, loaded and validated before any model is."""

from __future__ import annotations

from dataclasses import dataclass

from mind import perspectives as persp
from mind.config import ConfigError, RunConfig
from mind.curation import CurationReport, Example, curate
from mind.data import Rationale, questions_from_rationales, read_questions, read_rationales
from mind.methods import METHODS, single_rationale


@dataclass
class TrainingData:
    examples: list[Example]
    perspectives: list[str]
    report: CurationReport


def perspective_ids(config: RunConfig, rationales: list[Rationale]) -> list[str]:
    """The run's perspectives: as configured, else every one found in the rationales."""
    seen = {r.perspective for r in rationales}
    ids = config.perspectives or sorted(seen, key=persp.builtin_order)
    custom = [persp.Perspective(c.id, c.name, c.instruction) for c in config.custom_perspectives]
    try:
        persp.resolve(ids, custom, seen)
    except ValueError as exc:
        raise ConfigError("perspectives", str(exc)) from None
    return ids


def load_training_data(config: RunConfig, rationales_path: str | None = None) -> TrainingData:
    """Read, judge and curate the run's data; per-method reduction included."""
    path = rationales_path or config.data.rationales
    if path is None:
        raise ConfigError("data.rationales", "no rationales to train on")
    rationales = read_rationales(path)
    questions = (
        read_questions(config.data.questions)
        if config.data.questions
        else questions_from_rationales(rationales)
    )
    ids = perspective_ids(config, rationales)
    trains_on = METHODS[config.method].trains_on
    data_cfg = config.data
    if trains_on == "one_perspective":
        ids = [config.train.specialist_perspective or ""]
        data_cfg = data_cfg.model_copy(update={"min_perspectives": 1})
    programs = config.mind.program_rationales
    examples, report = curate(questions, rationales, ids, data_cfg, config.seed, programs=programs)
    if trains_on == "one_rationale":
        examples = [single_rationale(e, config.train.sft_perspective) for e in examples]
    if not examples:
        raise ConfigError(
            "data",
            f"no question has {data_cfg.min_perspectives} accepted rationales among "
            f"perspectives {ids} ({report})",
        )
    return TrainingData(examples, ids, report)
