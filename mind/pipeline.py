"""`mind run`: questions -> teacher rationales -> trained student -> evaluation -> latent map.

Each stage writes its outputs into the run directory and is recorded in `pipeline.json`
when done, so running the same directory again skips finished stages and resumes training
from its last checkpoint. The base student is evaluated and analyzed too (under `base/`),
because every result is read against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mind import checkpoint
from mind.config import ConfigError, RunConfig, TrainConfig, dump_config
from mind.curation import Example
from mind.curves import learning_curve
from mind.methods import METHODS
from mind.progress import EVALUATING_BASE, EVALUATING_TRAINED, StageAs
from mind.reporter import Reporter
from mind.training_data import probe_examples
from mind.training_run import train_run

STAGES = ("generating", "training", "evaluating", "analyzing")
STATE_FILE = "pipeline.json"
T = TypeVar("T")


def _finished_stages(out_dir: Path) -> dict[str, Any]:
    path = out_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _record_stage(out_dir: Path, stage: str, info: dict[str, Any]) -> None:
    """Written whole or not at all: the other ranks of a multi-device run read it."""
    state = _finished_stages(out_dir) | {stage: info}
    tmp = out_dir / f".{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(out_dir / STATE_FILE)


def _check_same_run(config: RunConfig, out_dir: Path) -> None:
    """Refuse to continue a directory that holds a run of a different configuration."""
    path = out_dir / "config.json"
    if path.exists() and json.loads(path.read_text()) != config.frozen():
        raise ConfigError(
            "--output", f"{out_dir} holds a run with a different config; use a new directory"
        )


def trained_model(config: RunConfig, out_dir: Path) -> tuple[str, str | None]:
    """(model, adapter) of the run's latest checkpoint, as load_for_inference takes them."""
    latest = checkpoint.latest(out_dir / "checkpoints")
    if latest is None:
        return config.student, None
    if (latest / "adapter").exists():
        return config.student, str(latest / "adapter")
    return str(latest / "model"), None


def _evaluate(config: RunConfig, model_ref: tuple[str, str | None], out_dir: Path, reporter):
    from mind.evaluate import evaluate
    from mind.generation import load_model
    from mind.student import load_tokenizer

    model = load_model(*model_ref, _inference_cfg(config.train), config.eval)
    tokenizer = load_tokenizer(config.student)
    return evaluate(model, tokenizer, config.eval, config.train.instruction, out_dir, reporter)


def _analyze(config: RunConfig, model_ref, examples: list[Example], out_dir: Path) -> dict:
    from dataclasses import asdict

    from mind.latent import analyze
    from mind.student import load_for_inference, load_tokenizer

    model = load_for_inference(model_ref[0], model_ref[1], _inference_cfg(config.train))
    tokenizer = load_tokenizer(config.student)
    result = analyze(
        model,
        tokenizer,
        examples,
        config.analysis,
        config.train.instruction,
        out_dir,
        config.seed,
        max_seq_len=config.train.max_seq_len,
    )
    return asdict(result)


def _file_sha(path: str | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _student_identity(student: str) -> list[Any]:
    """A local student is identified by its path and when its weights were written."""
    config = Path(student) / "config.json"
    return [student, config.stat().st_mtime if config.exists() else None]


BASE_CACHE_LAYOUT = 3  # 2: an entry holds only its own result's files; 3: `truncated`


def base_cache_key(config: RunConfig, what: str, payload: Any) -> str:
    """Key of a base-student result: the same student, prompt and inputs give the same one."""
    from mind.student import pick_device, pick_dtype

    parts = [
        BASE_CACHE_LAYOUT,
        what,
        _student_identity(config.student),
        config.train.instruction,
        str(pick_dtype(config.train.dtype, pick_device(config.train.device))),
        payload,
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def cached_base(
    key: str, out_dir: Path, compute: Callable[[Path], T], load: Callable[[Path], T]
) -> T:
    """The base student's results do not depend on the run: compute them once per key."""
    from mind.student import cache_dir

    cached = cache_dir() / "base-results" / key
    if not cached.exists():
        # Computed in a folder of its own: `out_dir` also holds the base student's other
        # results, which belong to other keys and must not travel with this one.
        tmp = cached.with_name(f"{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        compute(tmp)
        try:
            tmp.rename(cached)
        except OSError:  # another run stored the same key first
            shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(cached, out_dir, dirs_exist_ok=True)
    return load(out_dir)


def _base_eval(config: RunConfig, out_dir: Path, reporter: Reporter) -> dict[str, Any]:
    """The base student's evaluation, cached per student, benchmark files and extractor
    version (a cached score from an older extractor is not reused)."""
    from mind.answers import EXTRACTOR_VERSION

    benchmarks = [(b.model_dump(), _file_sha(b.path)) for b in config.eval.benchmarks]
    payload = [benchmarks, config.eval.max_new_tokens, EXTRACTOR_VERSION]
    return cached_base(
        base_cache_key(config, "eval", payload),
        out_dir,
        lambda d: _evaluate(config, (config.student, None), d, reporter),
        lambda d: json.loads((d / "eval.json").read_text()),
    )


def _base_latent(config: RunConfig, examples: list[Example], out_dir: Path) -> dict[str, Any]:
    probe = [(e.question.id, sorted(e.rationales.items())) for e in examples]
    payload = [probe, config.analysis.model_dump(), config.seed, config.train.max_seq_len]
    return cached_base(
        base_cache_key(config, "latent", payload),
        out_dir,
        lambda d: _analyze(config, (config.student, None), examples, d),
        lambda d: json.loads((d / "latent.json").read_text()),
    )


def _inference_cfg(train: TrainConfig) -> TrainConfig:
    return train.model_copy(update={"finetune": "full"})


def _stage_eval(config: RunConfig, out_dir: Path, reporter: Reporter) -> dict[str, Any]:
    """The trained student and the base student on every benchmark, and the gain."""
    from mind.evaluate import gain

    reporter.event("stage", "evaluating the base student")
    reporter.progress(EVALUATING_BASE, 0.0)
    base = _base_eval(config, out_dir / "base", StageAs(reporter, EVALUATING_BASE))
    reporter.progress(EVALUATING_BASE, 1.0)  # also when the result came from the cache
    if not METHODS[config.method].trains:
        shutil.copytree(out_dir / "base", out_dir, dirs_exist_ok=True)
        result = base
    else:
        reporter.event("stage", "evaluating the trained student")
        trained = StageAs(reporter, EVALUATING_TRAINED)
        result = _evaluate(config, trained_model(config, out_dir), out_dir, trained)
        learning_curve(config, out_dir, trained)
    (out_dir / "eval_base.json").write_text(json.dumps(base, indent=2) + "\n")
    reporter.result("evaluation", result | {"base": base, "gain": gain(result, base)})
    return {"id_mean": result["id_mean"], "ood_mean": result["ood_mean"]}


def _stage_analyze(
    config: RunConfig, out_dir: Path, rationales: Path, reporter: Reporter
) -> dict[str, Any]:
    """Latent maps of the trained and the base student on the same probe set."""
    reporter.progress("analyzing", 0.0)
    examples = probe_examples(config, rationales)
    base = _base_latent(config, examples, out_dir / "base")
    reporter.progress("analyzing", 0.5)
    if not METHODS[config.method].trains:
        shutil.copytree(out_dir / "base", out_dir, dirs_exist_ok=True)
        latent = base
    else:
        latent = _analyze(config, trained_model(config, out_dir), examples, out_dir)
    maps = {"base": base} | ({"trained": latent} if METHODS[config.method].trains else {})
    for student, found in maps.items():
        if found.get("warning"):
            reporter.event("warning", f"latent map of the {student} student: {found['warning']}")
    reporter.result("latent", latent | {"base": {k: base.get(k) for k in LATENT_KEYS}})
    reporter.progress("analyzing", 1.0)
    return {k: latent.get(k) for k in LATENT_KEYS}


def run_pipeline(
    config: RunConfig, out_dir: Path, reporter: Reporter, resume: bool = False
) -> dict[str, Any]:
    """Run (or continue) every stage; returns {"status": "completed" | "stopped", ...}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_same_run(config, out_dir)
    dump_config(config, out_dir / "config.json")
    done = _finished_stages(out_dir)
    summary: dict[str, Any] = {"status": "completed", "stages": list(STAGES)}

    reporter.progress("generating", 1.0 if "generating" in done else 0.0)
    from mind.teacher.generate import generate_rationales

    rationales = generate_rationales(config, out_dir, reporter)
    reporter.progress("generating", 1.0)  # given rationales report nothing themselves
    _record_stage(out_dir, "generating", {"rationales": str(rationales)})

    if "training" not in done:
        latest = checkpoint.latest(out_dir / "checkpoints")
        resume = resume or latest is not None
        reached = int(latest.name.removeprefix("step-")) if latest else 0
        reporter.progress("training", reached / config.train.max_steps)
        train = train_run(config, out_dir, reporter, resume=resume, rationales_path=str(rationales))
        summary["train"] = train
        if train["status"] == "stopped":
            return summary | {"status": "stopped", "stage": "training"}
        _record_stage(out_dir, "training", {"steps": train["steps"]})

    for stage, run_stage in (
        ("evaluating", lambda: _stage_eval(config, out_dir, reporter)),
        ("analyzing", lambda: _stage_analyze(config, out_dir, rationales, reporter)),
    ):
        if stage == "evaluating" and not config.eval.benchmarks:
            reporter.event("info", "no eval.benchmarks configured: evaluation skipped")
            continue
        if stage in done:
            continue
        if reporter.should_stop():
            return summary | {"status": "stopped", "stage": stage}
        _record_stage(out_dir, stage, run_stage())

    from mind.html_report import write_report

    reporter.artifact("report", write_report(out_dir))
    model_ref = trained_model(config, out_dir)
    if model_ref[1] is not None:
        reporter.artifact("adapter", Path(model_ref[1]))
    return summary


def follow_training(
    config: RunConfig, out_dir: Path, released: Callable[[], bool], poll_s: float = 1.0
) -> dict[str, Any]:
    """Ranks 1..N-1 of a multi-device run (`train.devices > 1`, under torchrun).

    Rank 0 runs `run_pipeline` alone; the other ranks join it for the training stage only:
    they wait until rank 0 has the rationales (its `generating` stage), then train beside
    it, writing and reporting nothing (`mind.distributed`). `released()` is True once rank 0
    has left its pipeline (e.g. stopped before training): they are not needed then.
    """
    from mind.reporter import NullReporter

    while True:
        done = _finished_stages(out_dir)
        if "training" in done or released():
            return {"status": "skipped", "reason": "rank 0 trains no more in this launch"}
        if "generating" in done:
            break
        time.sleep(poll_s)
    rationales = done["generating"]["rationales"]
    # resume=True: the latest checkpoint, if any, as rank 0 picks it (run_pipeline).
    return train_run(config, out_dir, NullReporter(), resume=True, rationales_path=rationales)


LATENT_KEYS = ("n_points", "n_clusters", "purity", "nmi", "warning")  # purity: None = n/a
