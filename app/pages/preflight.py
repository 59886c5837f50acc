"""The pre-flight summary of a checked run config: what curation keeps, tokens, time.

No tokenizer and no torch in the web process: tokens are estimated as characters / 4
(about right for English and numbers with SmolLM2's BPE) plus a fixed chat-template
overhead per sequence, capped at `train.max_seq_len`. Time is training only: tokens over
a throughput measured by this student's recent successful runs (median `tokens_per_s`),
or `DEFAULT_TOKENS_PER_S` when it has none.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.datasets import service as datasets
from app.results.models import MetricPoint
from app.runs.config import Checked
from app.runs.models import Run
from app.settings import Settings
from mind.config import RunConfig
from mind.curation import Example, curate
from mind.data import questions_from_rationales, read_questions, read_rationales
from mind.methods import METHODS
from mind.perspectives import builtin_order

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
    to_generate: int = 0
    notes: list[str] = field(default_factory=list)


def _tokens(*texts: str) -> int:
    return TEMPLATE_TOKENS + sum(len(t) for t in texts) // CHARS_PER_TOKEN


def throughput(session: Session, student: str) -> tuple[float, str]:
    """Median tokens/s of this student's last successful runs, and where the figure comes from."""
    recent = (
        select(Run.id)
        .where(Run.student == student, Run.status == "succeeded")
        .order_by(Run.finished_at.desc())
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
        return DEFAULT_TOKENS_PER_S, "assumed (no finished run of this student yet)"
    return statistics.median(values), f"median of this student's last {HISTORY_RUNS} runs"


def preflight(session: Session, settings: Settings, checked: Checked) -> Preflight:
    config, found = checked.config, checked.datasets
    out = Preflight()
    out.tokens_per_s, out.throughput_source = throughput(session, config.student)
    for role, dataset in found.items():
        if role.startswith("benchmark:"):
            bench = next(b for b in config.eval.benchmarks if f"benchmark:{b.name}" == role)
            out.eval_questions += min(dataset.row_count, bench.max_questions or dataset.row_count)
    if "rationales" not in found:
        if "questions" in found and config.teacher is not None:
            n = found["questions"].row_count
            out.questions_in = n
            out.to_generate = n * len(config.perspectives or [])
            out.notes.append("Rationales will be written by the teacher first; curation then.")
        return out
    rationales = read_rationales(datasets.file_path(settings, found["rationales"]))
    questions = (
        read_questions(datasets.file_path(settings, found["questions"]))
        if "questions" in found
        else questions_from_rationales(rationales)
    )
    ids = config.perspectives or sorted({r.perspective for r in rationales}, key=builtin_order)
    examples, report = curate(questions, rationales, ids, config.data, config.seed)
    out.questions_in, out.rationales_in = report.questions_in, report.rationales_in
    out.rationales_rejected, out.kept_questions = report.rationales_rejected, report.kept
    out.per_perspective = dict(
        sorted(report.per_perspective.items(), key=lambda i: builtin_order(i[0]))
    )
    out.kept_rationales = sum(report.per_perspective.values())
    _estimate(out, config, examples)
    return out


def _estimate(out: Preflight, config: RunConfig, examples: list[Example]) -> None:
    train = config.train
    if not METHODS[config.method].trains or not examples:
        return
    cap = train.max_seq_len
    lengths = []
    for ex in examples:
        texts = list(ex.rationales.values())
        if METHODS[config.method].trains_on != "all_kept":
            texts = texts[:1]
        lengths += [min(cap, _tokens(ex.question.question, train.instruction, t)) for t in texts]
    out.sequences_per_epoch, out.tokens_per_epoch = len(lengths), sum(lengths)
    out.steps_per_epoch = math.ceil(len(examples) / (train.questions_per_batch * train.grad_accum))
    out.epochs = train.max_steps / out.steps_per_epoch
    out.tokens_total = round(out.tokens_per_epoch * out.epochs)
    out.seconds = out.tokens_total / out.tokens_per_s
    if METHODS[config.method].trains_on != "all_kept":
        out.notes.append(f"{config.method} trains on one rationale per question.")
