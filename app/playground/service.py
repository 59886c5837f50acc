"""Which weights answer for a run, and the answer as a stream of server-sent events."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.sse import format_sse_event
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from app.datasets.models import Dataset, RunDataset
from app.playground.exceptions import CheckpointNotFound, NoCheckpoint
from app.playground.pool import InferencePool, Weights
from app.playground.schemas import Ask, Student
from app.results.models import EvaluationResult
from app.runs.models import Run
from app.settings import Settings
from mind.methods import METHODS

DEFAULT_ANSWER_TYPE = "number"
_POOL_LOCK = threading.Lock()


def pool_of(state: object, settings: Settings) -> InferencePool:
    """The app's one inference pool, made on first use (torch is imported only then)."""
    with _POOL_LOCK:
        if getattr(state, "inference", None) is None:
            state.inference = InferencePool(settings)  # type: ignore[attr-defined]
        return state.inference  # type: ignore[attr-defined]


def checkpoints(settings: Settings, run: Run) -> list[Path]:
    """Complete checkpoints (with a manifest), oldest first; torch is not imported."""
    root = settings.storage / run.directory / "checkpoints"
    done = [p for p in root.glob("step-*") if (p / "manifest.json").is_file()]
    return sorted(done, key=lambda p: int(p.name.removeprefix("step-")))


def checkpoint_dir(settings: Settings, run: Run, step: int | None) -> Path:
    """The chosen (default: latest) complete checkpoint of the run."""
    found = checkpoints(settings, run)
    if not found:
        raise NoCheckpoint(run.id)
    if step is None:
        return found[-1]
    chosen = [c for c in found if c.name == f"step-{step}"]
    if not chosen:
        raise CheckpointNotFound(step)
    return chosen[0]


def trained_weights(settings: Settings, run: Run, step: int | None) -> Weights:
    folder = checkpoint_dir(settings, run, step)
    if (folder / "adapter").is_dir():
        return run.student, str(folder / "adapter")
    return str(folder / "model"), None


def weights(settings: Settings, run: Run, student: Student, step: int | None) -> Weights:
    if student == "base" or not METHODS[run.method].trains:
        return run.student, None
    return trained_weights(settings, run, step)


def answer_type(session: Session, run: Run) -> str:
    """The run's benchmarks' answer type, else its questions dataset's, else `number`."""
    evaluated = session.scalar(
        select(EvaluationResult.answer_type).where(
            EvaluationResult.run_id == run.id, EvaluationResult.answer_type.is_not(None)
        )
    )
    if evaluated:
        return evaluated
    dataset = session.scalar(
        select(Dataset.answer_type)
        .join(RunDataset, RunDataset.dataset_id == Dataset.id)
        .where(RunDataset.run_id == run.id, Dataset.answer_type.is_not(None))
    )
    return dataset or DEFAULT_ANSWER_TYPE


def _event(name: str, data: dict) -> bytes:
    return format_sse_event(data_str=json.dumps(data), event=name)


@dataclass(frozen=True)
class Target:
    """Everything a stream needs, read before the request's session closes."""

    student: str
    instruction: str
    weights: Weights
    answer_type: str
    max_new_tokens: int


def target(session: Session, settings: Settings, run: Run, student: Student, ask: Ask) -> Target:
    limit = settings.playground_max_new_tokens
    return Target(
        student=run.student,
        instruction=run.config["train"]["instruction"],
        weights=weights(settings, run, student, ask.step),
        answer_type=ask.answer_type or answer_type(session, run),
        max_new_tokens=min(ask.max_new_tokens or run.config["eval"]["max_new_tokens"], limit),
    )


async def answer_events(pool: InferencePool, to: Target, ask: Ask) -> AsyncIterator[bytes]:
    """`token` events ({"text"}) as the student writes, then `done` ({"answer",
    "final_answer", "answer_type"}), or `error` ({"message"}) if generation fails."""
    from mind.answers import extract_answer
    from mind.inference import Sampling, stream_answer

    sampling = Sampling(to.max_new_tokens, ask.temperature, ask.top_p, ask.seed)
    await run_in_threadpool(pool.acquire)
    try:
        model, tokenizer = await run_in_threadpool(pool.model, to.weights, to.student)
        pieces: list[str] = []
        stream = stream_answer(model, tokenizer, ask.question, to.instruction, sampling)
        async for piece in iterate_in_threadpool(stream):
            if piece:
                pieces.append(piece)
                yield _event("token", {"text": piece})
        text = "".join(pieces).strip()
        final = extract_answer(text, to.answer_type, tuple(ask.choices))  # type: ignore[arg-type]
        done = {"answer": text, "final_answer": final, "answer_type": to.answer_type}
        yield _event("done", done)
    except Exception as exc:  # the stream has started: report in-band, not as a status
        yield _event("error", {"message": f"{type(exc).__name__}: {exc}"})
    finally:
        pool.release()
