"""Rationale generation (method spec section 2): every question x perspective, judged.

Writes `rationales.jsonl` (the shared/teacher_rationales schema plus `prompt_sha256` and
`elapsed_s`) and `generation_report.json`. Teacher outputs go through a cache first, so a
re-run pays only for what is missing. A reply that is empty or cut off by `max_tokens`
(`finish_reason: length`) is neither cached nor written: it is counted in the report
(`empty`, `truncated`), announced by a `warning` event, and asked again on a re-run.
Down-sampling and `min_perspectives` are applied at training time by `mind.curation`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind.answers import answer_type, extract_answer
from mind.config import ConfigError, RunConfig, TeacherConfig
from mind.data import Question, Rationale, read_questions
from mind.errors import MindError
from mind.judge import rule_judge
from mind.perspectives import BUILTIN, Perspective, resolve
from mind.reporter import NullReporter, Reporter
from mind.teacher.backend import Request, Result, Sampling
from mind.teacher.cache import TeacherCache, cache_key
from mind.teacher.factory import make_backend
from mind.teacher.prompts import PROMPT_STYLE, Messages, build_messages, prompt_sha256

RATIONALES_FILE = "rationales.jsonl"
REPORT_FILE = "generation_report.json"
STAGE = "generating"


class GenerationStopped(MindError, RuntimeError):
    """The reporter asked to stop; what was generated so far is kept in the cache."""


@dataclass(frozen=True)
class Job:
    question: Question
    perspective: Perspective
    messages: Messages
    prompt_sha256: str
    key: str


def plan_jobs(config: RunConfig) -> list[Job]:
    """One job per (question, perspective), in question order then perspective order."""
    teacher = _teacher(config)
    if not config.data.questions:
        raise ConfigError("data.questions", "rationale generation needs a questions file")
    questions = read_questions(config.data.questions)[: config.data.max_questions]
    custom = [Perspective(p.id, p.name, p.instruction) for p in config.custom_perspectives]
    try:
        perspectives = resolve(config.perspectives or list(BUILTIN), custom)
    except ValueError as exc:
        raise ConfigError("perspectives", str(exc)) from None
    sampling = Sampling.from_config(teacher, config.seed).as_dict()
    jobs = []
    for question in questions:
        for perspective in perspectives:
            messages = build_messages(question, perspective)
            digest = prompt_sha256(messages, sampling)
            jobs.append(
                Job(question, perspective, messages, digest, cache_key(teacher.model, digest))
            )
    return jobs


def _teacher(config: RunConfig) -> TeacherConfig:
    if config.teacher is None:
        raise ConfigError("teacher", "rationale generation needs a teacher section")
    return config.teacher


def generate_rationales(
    config: RunConfig,
    out_dir: str | Path,
    reporter: Reporter | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Generate (or take from the cache) every rationale; return the rationales file.

    Without a teacher section the user's own rationales (`data.rationales`) are used as
    they are, and their path is returned: there is nothing to generate. The cache lives in
    `cache_dir` (default `out_dir`), so several runs may share one.
    Raises GenerationStopped if the reporter asks to stop, and the backend's error (e.g.
    TeacherError) if the teacher fails; in both cases the cache keeps every finished result.
    """
    reporter = reporter or NullReporter()
    if config.teacher is None and config.data.rationales:
        given = Path(config.data.rationales).name  # a file name: no server path in the log
        reporter.event("generation_skipped", f"using the given rationales ({given})")
        return Path(config.data.rationales)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan_jobs(config)
    began = time.perf_counter()
    with TeacherCache(cache_dir or out_dir) as cache:
        # Identical prompts (a question listed twice under two ids) are asked once.
        missing = list(
            {j.key: Request(j.key, j.messages) for j in jobs if j.key not in cache}.values()
        )
        hits = len(jobs) - len(missing)
        reporter.event(
            "generation_started",
            f"{len(jobs)} rationales to write, {hits} already in the cache",
            requested=len(jobs),
            cache_hits=hits,
        )
        problems: dict[str, str] = {}
        if missing:
            problems = _fill(cache, missing, config, reporter, done=hits, total=len(jobs))
        records = [
            _record(job, cache[job.key], config) if job.key in cache else None for job in jobs
        ]
    path = out_dir / RATIONALES_FILE
    _write_jsonl(path, [r for r in records if r is not None])
    teacher = _teacher(config)
    report = {
        "teacher": teacher.model,
        "backend": teacher.backend,
        **build_report(jobs, records, hits, time.perf_counter() - began, problems),
    }
    _warn(reporter, report["totals"], teacher)
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    reporter.progress(STAGE, 1.0)
    reporter.event("generation_finished", _summary(report), **report["totals"])
    return path


def _fill(
    cache: TeacherCache,
    missing: list[Request],
    config: RunConfig,
    reporter: Reporter,
    done: int,
    total: int,
) -> dict[str, str]:
    """Ask the backend for the missing outputs, caching each usable one the moment it
    arrives; return {cache key: problem} for the replies that were not usable."""
    problems: dict[str, str] = {}
    with closing(make_backend(config).generate(missing)) as results:  # closing cancels the rest
        for result in results:
            if result.problem:
                problems[result.key] = result.problem
            else:
                cache.put(result)
            done += 1
            reporter.progress(STAGE, done / total)
            if reporter.should_stop():
                raise GenerationStopped(f"stopped after {done} of {total} rationales")
    return problems


def _warn(reporter: Reporter, totals: dict[str, int], teacher: TeacherConfig) -> None:
    """One visible warning for the replies that could not be used."""
    if totals["empty"] or totals["truncated"]:
        reporter.event(
            "warning",
            f"{totals['empty']} empty and {totals['truncated']} truncated teacher replies were "
            f"dropped and not cached (a re-run asks again; truncated ones need a larger "
            f"teacher.max_tokens than {teacher.max_tokens})",
            empty=totals["empty"],
            truncated=totals["truncated"],
        )


def _record(job: Job, result: Result, config: RunConfig) -> dict[str, Any]:
    """One teacher_rationales record, judged."""
    text = result.text.strip()
    q, teacher = job.question, _teacher(config).model
    rationale = Rationale(
        id=q.id,
        perspective=job.perspective.id,
        rationale=text,
        question=q.question,
        answer=q.answer,
        teacher=teacher,
    )
    questions_path = Path(config.data.questions or "")
    return {
        "id": q.id,
        "dataset": questions_path.parent.name,
        "split": questions_path.stem,
        "question": q.question,
        "answer": q.answer,
        "perspective": job.perspective.id,
        "rationale": text,
        "rationale_answer": extract_answer(text, answer_type(q), q.choices),
        "correct": rule_judge(rationale, q),
        "teacher": teacher,
        "style": PROMPT_STYLE,
        "prompt_sha256": job.prompt_sha256,
        "elapsed_s": round(result.elapsed_s, 3),
    }


def build_report(
    jobs: list[Job],
    records: list[dict[str, Any] | None],
    cache_hits: int,
    elapsed_s: float,
    problems: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Per perspective: prompts requested, usable rationales generated, judged correct;
    in the totals also the replies dropped as `empty` or `truncated`."""
    problem_counts = Counter((problems or {}).values())
    requested = Counter(j.perspective.id for j in jobs)
    generated = Counter(r["perspective"] for r in records if r is not None)
    accepted = Counter(r["perspective"] for r in records if r is not None and r["correct"])
    per_perspective = {
        p: {"requested": n, "generated": generated[p], "accepted": accepted[p]}
        for p, n in requested.items()
    }
    return {
        "questions": len({j.question.id for j in jobs}),
        "perspectives": per_perspective,
        "totals": {
            "requested": sum(requested.values()),
            "generated": sum(generated.values()),
            "accepted": sum(accepted.values()),
            "cache_hits": cache_hits,
            "empty": problem_counts["empty"],
            "truncated": problem_counts["truncated"],
        },
        "elapsed_s": round(elapsed_s, 3),
    }


def _summary(report: dict[str, Any]) -> str:
    t = report["totals"]
    return (
        f"{t['generated']}/{t['requested']} rationales generated, {t['accepted']} accepted, "
        f"{t['cache_hits']} from the cache"
    )


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write to a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
