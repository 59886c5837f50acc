"""The one loader of a run's examples: training, the pre-flight and the latent probe.

Each reads the same files, resolves the same perspectives and curates with the same rules,
so what the pre-flight says is kept is what trains, and the probe sees the same rationales:

- `load_training_data`: what the trainer trains on (the specialist keeps its one
  perspective, sft/sbs one rationale per question); raises if nothing is kept.
- `training_examples`: the same from records already read, never raising on an empty
  result (the pre-flight reports it instead).
- `probe_examples`: the latent probe, the first questions with any accepted rationale, all
  the run's perspectives, no down-sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mind import perspectives as persp
from mind.config import ConfigError, DataConfig, RunConfig
from mind.curation import CurationReport, Example, curate
from mind.data import (
    Question,
    Rationale,
    questions_from_rationales,
    read_questions,
    read_rationales,
)
from mind.methods import METHODS, single_rationale


@dataclass
class TrainingData:
    examples: list[Example]
    perspectives: list[str]
    report: CurationReport


@dataclass(frozen=True)
class RunRecords:
    """A run's questions and teacher rationales as read from disk."""

    questions: list[Question]
    rationales: list[Rationale]


def read_records(rationales: str | Path, questions: str | Path | None) -> RunRecords:
    """The rationales file, and the questions file or else the questions the rationales hold.

    Raises DataError naming the file, line and field of a bad record.
    """
    records = read_rationales(rationales)
    found = read_questions(questions) if questions else questions_from_rationales(records)
    return RunRecords(found, records)


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


def _training_rules(config: RunConfig, ids: list[str]) -> tuple[list[str], DataConfig]:
    """The perspectives and curation settings training uses; the specialist keeps one."""
    if METHODS[config.method].trains_on == "one_perspective":
        only = [config.train.specialist_perspective or ""]
        return only, config.data.model_copy(update={"min_perspectives": 1})
    return ids, config.data


def training_examples(config: RunConfig, records: RunRecords) -> TrainingData:
    """Curate the records as training will, per-method reduction included (may be empty)."""
    ids, data_cfg = _training_rules(config, perspective_ids(config, records.rationales))
    programs = config.mind.program_rationales
    examples, report = curate(
        records.questions, records.rationales, ids, data_cfg, config.seed, programs=programs
    )
    if METHODS[config.method].trains_on == "one_rationale":
        examples = [single_rationale(e, config.train.sft_perspective) for e in examples]
    return TrainingData(examples, ids, report)


def load_training_data(config: RunConfig, rationales_path: str | None = None) -> TrainingData:
    """Read, judge and curate the run's data; raises ConfigError if no question is kept."""
    path = rationales_path or config.data.rationales
    if path is None:
        raise ConfigError("data.rationales", "no rationales to train on")
    data = training_examples(config, read_records(path, config.data.questions))
    if not data.examples:
        raise nothing_kept(config, data)
    return data


def nothing_kept(config: RunConfig, data: TrainingData) -> ConfigError:
    """Why curation kept no question, naming the curation key that removed the last ones
    (training raises it; the studio refuses such a run at submit)."""
    report = data.report
    _, data_cfg = _training_rules(config, data.perspectives)
    split = "data.source_split" if data_cfg.source_split else "data.exclude_source_split"
    if not report.with_rationales:
        key = split if data_cfg.source_split or data_cfg.exclude_source_split else "perspectives"
        why = f"no question has a rationale among perspectives {data.perspectives}"
    elif report.easy_dropped == report.with_rationales:
        key = "data.easy_keep_fraction"
        why = (
            f"difficulty-aware down-sampling (data.downsample_easy) dropped all "
            f"{report.easy_dropped} questions, every one of them easy"
        )
    else:
        key = (
            "train.specialist_perspective"
            if METHODS[config.method].trains_on == "one_perspective"
            else "data.min_perspectives"
        )
        why = (
            f"no question has {data_cfg.min_perspectives} accepted rationales among "
            f"perspectives {data.perspectives}: {report.below_min_perspectives} have fewer "
            f"(data.only_correct rejected {report.rationales_rejected} rationales, "
            f"mind.program_rationales dropped {report.programs_dropped}), "
            f"{report.easy_dropped} were dropped as easy"
        )
    return ConfigError(key, f"curation keeps no question: {why}")


def probe_examples(config: RunConfig, rationales_path: str | Path) -> list[Example]:
    """The run's latent probe set, from its rationales file (see `probe_set`)."""
    records = read_records(rationales_path, config.data.questions)
    ids = perspective_ids(config, records.rationales)
    return probe_set(records, ids, config.data, config.analysis.probe_questions, config.seed)


def probe_set(
    records: RunRecords, ids: list[str], data: DataConfig, size: int, seed: int
) -> list[Example]:
    """The first `size` questions with an accepted rationale among `ids`, all of them kept.

    `data` gives the judging and picking rules; down-sampling and the per-question minimum
    are off, so every probe question counts.
    """
    cfg = data.model_copy(
        update={"downsample_easy": False, "min_perspectives": 1, "max_questions": size}
    )
    examples, _ = curate(records.questions, records.rationales, ids, cfg, seed)
    return examples
