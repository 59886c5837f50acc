"""From raw questions and rationales to training examples, as method spec section 2 says.

Per question: judge each rationale, keep one per perspective (configurable rule), flag
(or drop) rationales that are programs, apply difficulty-aware down-sampling and
`min_perspectives`, and normalise every kept rationale to end with the canonical line
`The answer is <gold>.`
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from mind.config import DataConfig, ProgramRule
from mind.data import Question, Rationale
from mind.judge import rule_judge

Judge = Callable[[Rationale, Question], bool]

_FINAL_LINE = re.compile(
    r"(?:(?:so|thus|therefore|hence)[ ,]*)?(?:the )?(?:final )?answer(?: is|:)(?:(?!\. )[^\n])*$"
    r"|^\s*#{4}[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)


_CODE_LINE = re.compile(
    r"^\s*(?:#|def |return\b|import |from \w+ import |print\(|[A-Za-z_][A-Za-z0-9_]*\s*=[^=])"
)
PROGRAM_LINE_SHARE = 0.6


def looks_like_program(text: str) -> bool:
    """True when most non-empty lines are code (comments, assignments, def/return/print).

    Such rationales (PoT, Faithful-CoT) leave the result to an interpreter, so the answer
    after them is not derived in the text: the student's answer CE there is 1.7-3.3 nats
    against 0.03-0.26 after prose (issue 11).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    code = sum(bool(_CODE_LINE.match(line)) for line in lines)
    return bool(lines) and code / len(lines) >= PROGRAM_LINE_SHARE


def canonical_line(answer: str) -> str:
    return f"The answer is {answer}."


def normalise_ending(text: str, answer: str) -> str:
    """Replace a trailing final-answer statement with the canonical line.

    Only a last sentence that states the answer is cut (nothing but whitespace may follow
    it, and it holds no sentence break), so reasoning that mentions 'the answer is' survives.
    """
    body = text.rstrip()
    matches = list(_FINAL_LINE.finditer(body))
    if matches and matches[-1].end() == len(body):
        body = body[: matches[-1].start()].rstrip()
    return f"{body}\n{canonical_line(answer)}" if body else canonical_line(answer)


@dataclass(frozen=True)
class Example:
    """One training question with its kept rationales, one per perspective."""

    question: Question
    rationales: dict[str, str]  # perspective id -> normalised rationale text
    teachers: dict[str, str] = field(default_factory=dict)
    programs: frozenset[str] = frozenset()  # perspectives whose rationale is a program


@dataclass
class CurationReport:
    questions_in: int = 0
    with_rationales: int = 0
    easy: int = 0
    easy_dropped: int = 0
    below_min_perspectives: int = 0
    kept: int = 0
    rationales_in: int = 0
    rationales_rejected: int = 0
    program_rationales: int = 0
    programs_dropped: int = 0
    per_perspective: dict[str, int] = field(default_factory=dict)


def flag_or_rule_judge(rationale: Rationale, question: Question) -> bool:
    """Trust a record's `correct` flag; judge records without one by their stated answer.

    The flag matters for program rationales (Faithful-CoT, PoT), whose answers came from
    executing the code and cannot be read off the text.
    """
    if rationale.correct is not None:
        return rationale.correct
    return rule_judge(rationale, question)


def _pick(candidates: list[Rationale], cfg: DataConfig, rng: random.Random) -> Rationale:
    rank = {t: i for i, t in enumerate(cfg.prefer_teachers)}
    best = min(rank.get(r.teacher, len(rank)) for r in candidates)
    pool = [r for r in candidates if rank.get(r.teacher, len(rank)) == best]
    if cfg.pick == "shortest":
        return min(pool, key=lambda r: len(r.rationale))
    if cfg.pick == "longest":
        return max(pool, key=lambda r: len(r.rationale))
    if cfg.pick == "random":
        return rng.choice(pool)
    return pool[0]


def _split_filter(questions: list[Question], rationales: list[Rationale], cfg: DataConfig):
    if not cfg.source_split and not cfg.exclude_source_split:
        return questions
    ids_in = {r.id for r in rationales if r.source_split == cfg.source_split}
    ids_out = {r.id for r in rationales if r.source_split == cfg.exclude_source_split}
    return [
        q
        for q in questions
        if (not cfg.source_split or q.id in ids_in)
        and not (cfg.exclude_source_split and q.id in ids_out)
    ]


def curate(
    questions: list[Question],
    rationales: list[Rationale],
    perspectives: list[str],
    cfg: DataConfig,
    seed: int,
    judge: Judge = flag_or_rule_judge,
    programs: ProgramRule = "keep",
) -> tuple[list[Example], CurationReport]:
    """Build training examples; the same inputs and seed always give the same output.

    `programs="drop"` removes program rationales before `min_perspectives` applies; the
    other rules keep them, flagged in `Example.programs` for the trainer.
    """
    rng = random.Random(seed)
    report = CurationReport(questions_in=len(questions), rationales_in=len(rationales))
    questions = _split_filter(questions, rationales, cfg)
    by_id = {q.id: q for q in questions}
    wanted = set(perspectives)
    grouped: dict[str, dict[str, list[Rationale]]] = defaultdict(lambda: defaultdict(list))
    all_correct: dict[str, bool] = {}
    for r in rationales:
        q = by_id.get(r.id)
        if q is None or r.perspective not in wanted:
            continue
        ok = judge(r, q)
        all_correct[r.id] = all_correct.get(r.id, True) and ok
        if ok or not cfg.only_correct:
            grouped[r.id][r.perspective].append(r)
        else:
            report.rationales_rejected += 1
    report.with_rationales = len(all_correct)

    examples = []
    for q in questions:
        if q.id not in all_correct:
            continue
        if all_correct[q.id]:
            report.easy += 1
            if cfg.downsample_easy and rng.random() >= cfg.easy_keep_fraction:
                report.easy_dropped += 1
                continue
        kept = {p: _pick(grouped[q.id][p], cfg, rng) for p in perspectives if grouped[q.id][p]}
        flagged = frozenset(p for p, r in kept.items() if looks_like_program(r.rationale))
        report.program_rationales += len(flagged)
        if programs == "drop":
            report.programs_dropped += len(flagged)
            kept = {p: r for p, r in kept.items() if p not in flagged}
            flagged = frozenset()
        if len(kept) < cfg.min_perspectives:
            report.below_min_perspectives += 1
            continue
        examples.append(
            Example(
                q,
                {p: normalise_ending(r.rationale, q.answer) for p, r in kept.items()},
                {p: r.teacher for p, r in kept.items()},
                flagged,
            )
        )
        if cfg.max_questions and len(examples) == cfg.max_questions:
            break
    report.kept = len(examples)
    for ex in examples:
        for p in ex.rationales:
            report.per_perspective[p] = report.per_perspective.get(p, 0) + 1
    return examples, report
