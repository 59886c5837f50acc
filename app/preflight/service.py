"""The pre-flight summary of a checked run config: what curation keeps, tokens, time.

What is kept comes from `mind.training_data`, the loader training uses, so the summary
counts exactly the examples that will train (the specialist's one perspective included).

No tokenizer and no torch in the web process: tokens are estimated as characters / 4
(about right for English and numbers with SmolLM2's BPE) plus a fixed chat-template
overhead per sequence, capped at `train.max_seq_len`. Training time is tokens over the
throughput this student's recent runs measured on the workers (median `tokens_per_s` of
their steps, whatever their outcome), or `DEFAULT_TOKENS_PER_S` (stated as assumed) when
it has none. Evaluation time is the evaluated questions (base and trained student) times
the seconds per question its recent runs took, scaled by `eval.max_new_tokens`; unknown
until one has evaluated. Rationales to generate are counted from the questions file
itself, as the teacher stage will (first `max_questions`, each perspective, identical
prompts once).

`check_data` refuses at submit, from the same curated examples, what would otherwise fail
only once the run has started (see its docstring).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.datasets import service as datasets
from app.db import as_utc
from app.results.models import MetricPoint
from app.runs.config import CheckedConfig, execution_config
from app.runs.exceptions import InvalidConfig
from app.runs.models import Run, RunEvent
from app.settings import Settings
from mind.config import ConfigError, RunConfig
from mind.curation import Example
from mind.methods import METHODS
from mind.perspectives import builtin_order

if TYPE_CHECKING:
    from mind.training_data import TrainingData

CHARS_PER_TOKEN = 4
TEMPLATE_TOKENS = 30
DEFAULT_TOKENS_PER_S = 1000.0
HISTORY_RUNS = 5


@dataclass
class Preflight:
    questions_in: int = 0
    rationales_in: int = 0
    rationales_rejected: int = 0
    kept_questions: int = 0
    kept_rationales: int = 0
    per_perspective: dict[str, int] = field(default_factory=dict)
    sequences_per_epoch: int = 0
    tokens_per_epoch: int = 0
    steps_per_epoch: int = 0
    epochs: float = 0.0
    tokens_total: int = 0
    tokens_per_s: float = DEFAULT_TOKENS_PER_S
    throughput_source: str = ""
    seconds: float = 0.0
    eval_questions: int = 0
    eval_seconds: float | None = None
    eval_source: str = ""
    to_generate: int = 0
    notes: list[str] = field(default_factory=list)


def _tokens(*texts: str) -> int:
    return TEMPLATE_TOKENS + sum(len(t) for t in texts) // CHARS_PER_TOKEN


def throughput(session: Session, student: str) -> tuple[float, str]:
    """Median tokens/s over the steps of this student's last runs that trained, and where
    the figure comes from."""
    trained = select(MetricPoint.run_id).where(MetricPoint.name == "tokens_per_s")
    recent = (
        select(Run.id)
        .where(Run.student == student, Run.id.in_(trained))
        .order_by(Run.created_at.desc())
        .limit(HISTORY_RUNS)
    )
    values = list(
        session.scalars(
            select(MetricPoint.value).where(
                MetricPoint.run_id.in_(recent), MetricPoint.name == "tokens_per_s"
            )
        )
    )
    if not values:
        return DEFAULT_TOKENS_PER_S, "assumed: no run of this student has trained yet"
    return statistics.median(values), (
        f"measured: median over {len(values)} steps of this student's last runs"
    )


def eval_speed(session: Session, student: str) -> tuple[float, int] | None:
    """(seconds per question, max_new_tokens) of this student's last evaluated run: from
    its "evaluating the trained student" event to its evaluation result, over the
    questions its `eval` events counted. None when no run of it has been evaluated."""
    started = (
        select(RunEvent.run_id, func.max(RunEvent.created_at).label("at"))
        .join(Run, Run.id == RunEvent.run_id)
        .where(Run.student == student, RunEvent.message == "evaluating the trained student")
        .group_by(RunEvent.run_id)
        .subquery()
    )
    for run_id, began in session.execute(
        select(started.c.run_id, started.c.at).order_by(started.c.at.desc()).limit(HISTORY_RUNS)
    ):
        after = select(RunEvent).where(RunEvent.run_id == run_id, RunEvent.created_at >= began)
        events = list(session.scalars(after.order_by(RunEvent.id)))
        done = next(
            (e for e in events if e.kind == "result" and e.data.get("result") == "evaluation"), None
        )
        questions = sum(int(e.data.get("n", 0)) for e in events if e.kind == "eval")
        if done is None or not questions:
            continue
        run = session.get(Run, run_id)
        tokens = int(run.config.get("eval", {}).get("max_new_tokens", 1)) if run else 1
        return (as_utc(done.created_at) - as_utc(began)).total_seconds() / questions, tokens
    return None


def preflight(session: Session, settings: Settings, checked: CheckedConfig) -> Preflight:
    config, found = checked.config, checked.datasets
    out = Preflight()
    out.tokens_per_s, out.throughput_source = throughput(session, config.student)
    for role, dataset in found.items():
        if role.startswith("benchmark:"):
            bench = next(b for b in config.eval.benchmarks if f"benchmark:{b.name}" == role)
            out.eval_questions += min(dataset.row_count, bench.max_questions or dataset.row_count)
    _estimate_eval(out, session, config)
    if config.teacher is not None and "questions" in found:
        _count_generation(out, session, settings, config)
    if "rationales" not in found:
        return out
    data = _training_data(settings, checked)
    examples, report = data.examples, data.report
    if not examples and config.teacher is None:
        from mind.training_data import nothing_kept

        refused = nothing_kept(config, data)
        out.notes.append(f"Submit will refuse this config: {refused.key}: {refused.message}")
    out.questions_in, out.rationales_in = report.questions_in, report.rationales_in
    out.rationales_rejected, out.kept_questions = report.rationales_rejected, report.kept
    out.per_perspective = dict(
        sorted(report.per_perspective.items(), key=lambda i: builtin_order(i[0]))
    )
    out.kept_rationales = sum(report.per_perspective.values())
    _estimate(out, config, examples)
    return out


def _training_data(settings: Settings, checked: CheckedConfig) -> TrainingData:
    """The examples training will train on, curated from the uploaded files."""
    # The methods table behind the loader imports torch: the web app pays it only here.
    from mind.training_data import read_records, training_examples

    found = checked.datasets
    records = read_records(
        datasets.file_path(settings, found["rationales"]),
        datasets.file_path(settings, found["questions"]) if "questions" in found else None,
    )
    try:
        return training_examples(checked.config, records)
    except ConfigError as exc:
        raise InvalidConfig(exc.key, exc.message) from None


def check_data(settings: Settings, checked: CheckedConfig) -> None:
    """Refuse at submit a run whose uploaded rationales would stop it once started:
    curation keeping no question (InvalidConfig naming the curation key responsible), or a
    question whose prompt and answer alone exceed `train.max_seq_len` (naming the longest
    and its tokens). The messages are the worker's own (`mind.training_data.nothing_kept`,
    `mind.batching.check_fits`). With a teacher the rationales do not exist yet: nothing to
    check. The length check needs the student's tokenizer on this machine; for a student
    whose tokenizer is not here (a hub id only a worker has downloaded) it is skipped, and
    the worker's same check stops the run before training instead.
    """
    config = checked.config
    if config.teacher is not None or "rationales" not in checked.datasets:
        return
    from mind.training_data import nothing_kept

    data = _training_data(settings, checked)
    if not data.examples:
        refused = nothing_kept(config, data)
        raise InvalidConfig(refused.key, refused.message)
    if METHODS[config.method].trains:
        _check_lengths(config, data)


def _check_lengths(config: RunConfig, data: TrainingData) -> None:
    from mind.batching import ExampleTokenizer, check_fits
    from mind.methods import slot_names, spec_for
    from mind.student import local_tokenizer

    tokenizer = local_tokenizer(config.student)
    if tokenizer is None:
        return
    train = config.train
    encoder = ExampleTokenizer(tokenizer, train.instruction, train.max_seq_len)
    sbs = spec_for(config).slots == "sbs_tasks"
    try:
        check_fits(encoder, data.examples, slot_names(config, data.perspectives), sbs)
    except ConfigError as exc:
        raise InvalidConfig(exc.key, exc.message) from None


def _estimate_eval(out: Preflight, session: Session, config: RunConfig) -> None:
    if not out.eval_questions:
        return
    measured = eval_speed(session, config.student)
    if measured is None:
        out.eval_source = "unknown: no run of this student has been evaluated yet"
        return
    per_question, tokens = measured
    per_question *= config.eval.max_new_tokens / max(tokens, 1)
    out.eval_seconds = 2 * out.eval_questions * per_question  # the base and trained student
    out.eval_source = (
        f"measured: {per_question:.2f} s per question (this student's last evaluated run, "
        f"scaled to max_new_tokens={config.eval.max_new_tokens})"
    )


def _count_generation(
    out: Preflight, session: Session, settings: Settings, config: RunConfig
) -> None:
    """The teacher prompts the generation stage will send, planned from the real file."""
    from mind.teacher.generate import plan_jobs

    resolved = execution_config(session, settings, config.frozen())
    try:
        jobs = plan_jobs(resolved)
    except ConfigError as exc:
        raise InvalidConfig(exc.key, exc.message) from None
    out.to_generate = len({job.key for job in jobs})
    out.questions_in = len({job.question.id for job in jobs})
    out.notes.append("Rationales will be written by the teacher first; curation then.")


def _estimate(out: Preflight, config: RunConfig, examples: list[Example]) -> None:
    train = config.train
    if not METHODS[config.method].trains or not examples:
        return
    cap = train.max_seq_len
    lengths = [
        min(cap, _tokens(ex.question.question, train.instruction, text))
        for ex in examples
        for text in ex.rationales.values()
    ]
    out.sequences_per_epoch, out.tokens_per_epoch = len(lengths), sum(lengths)
    out.steps_per_epoch = math.ceil(len(examples) / (train.questions_per_batch * train.grad_accum))
    out.epochs = train.max_steps / out.steps_per_epoch
    out.tokens_total = round(out.tokens_per_epoch * out.epochs)
    out.seconds = out.tokens_total / out.tokens_per_s
    if METHODS[config.method].trains_on != "all_kept":
        out.notes.append(f"{config.method} trains on one rationale per question.")
