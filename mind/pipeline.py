"""`mind run`: questions -> teacher rationales -> trained student -> evaluation -> latent map.

Each stage writes its outputs into the run directory and is recorded in `pipeline.json`
when done, so running the same directory again skips finished stages and resumes training
from its last checkpoint. The base student is evaluated and analysed too (under `base/`),
because every result is read against it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mind import checkpoint
from mind.commands.train import train_run
from mind.config import ConfigError, RunConfig, TrainConfig, dump_config
from mind.curation import Example, curate
from mind.data import questions_from_rationales, read_questions, read_rationales
from mind.reporting import Reporter

STAGES = ("generating", "training", "evaluating", "analyzing")
STATE_FILE = "pipeline.json"


def _done(out_dir: Path) -> dict[str, Any]:
    path = out_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _mark(out_dir: Path, stage: str, info: dict[str, Any]) -> None:
    state = _done(out_dir) | {stage: info}
    (out_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


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


def probe_examples(config: RunConfig, rationales: Path) -> list[Example]:
    """The fixed probe set: the first questions with accepted rationales, all perspectives."""
    records = read_rationales(rationales)
    questions = (
        read_questions(config.data.questions)
        if config.data.questions
        else questions_from_rationales(records)
    )
    from mind.training_data import perspective_ids

    cfg = config.data.model_copy(
        update={
            "downsample_easy": False,
            "min_perspectives": 1,
            "max_questions": config.analysis.probe_questions,
        }
    )
    examples, _ = curate(questions, records, perspective_ids(config, records), cfg, config.seed)
    return examples


def _evaluate(config: RunConfig, model_ref: tuple[str, str | None], out_dir: Path, reporter):
    from mind.evaluate import evaluate
    from mind.student import load_for_inference, load_tokenizer

    model = load_for_inference(model_ref[0], model_ref[1], _inference_cfg(config.train))
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


def _base_dir(config: RunConfig, out_dir: Path) -> Path:
    """Where the base student's results go: the run itself for zero_shot, else base/."""
    return out_dir if config.method == "zero_shot" else out_dir / "base"


def _inference_cfg(train: TrainConfig) -> TrainConfig:
    return train.model_copy(update={"finetune": "full"})


def run_pipeline(
    config: RunConfig, out_dir: Path, reporter: Reporter, resume: bool = False
) -> dict[str, Any]:
    """Run (or continue) every stage; returns {"status": "completed" | "stopped", ...}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_same_run(config, out_dir)
    dump_config(config, out_dir / "config.json")
    done = _done(out_dir)
    summary: dict[str, Any] = {"status": "completed", "stages": list(STAGES)}

    reporter.progress("generating", 0.0)
    from mind.teacher.generate import generate_rationales

    rationales = generate_rationales(config, out_dir, reporter)
    _mark(out_dir, "generating", {"rationales": str(rationales)})

    if "training" not in done:
        resume = resume or checkpoint.latest(out_dir / "checkpoints") is not None
        train = train_run(config, out_dir, reporter, resume=resume, rationales_path=str(rationales))
        summary["train"] = train
        if train["status"] == "stopped":
            return summary | {"status": "stopped", "stage": "training"}
        _mark(out_dir, "training", {"steps": train["steps"]})

    if not config.eval.benchmarks:
        reporter.event("info", "no eval.benchmarks configured: evaluation skipped")
    elif "evaluating" not in done:
        if reporter.should_stop():
            return summary | {"status": "stopped", "stage": "evaluating"}
        zero_shot = config.method == "zero_shot"
        reporter.event("stage", "evaluating the base student")
        base = _evaluate(config, (config.student, None), _base_dir(config, out_dir), reporter)
        result = base
        if not zero_shot:
            reporter.event("stage", "evaluating the trained student")
            result = _evaluate(config, trained_model(config, out_dir), out_dir, reporter)
        (out_dir / "eval_base.json").write_text(json.dumps(base, indent=2) + "\n")
        from mind.evaluate import gain

        reporter.result("evaluation", result | {"base": base, "gain": gain(result, base)})
        _mark(out_dir, "evaluating", {"id_mean": result["id_mean"], "ood_mean": result["ood_mean"]})

    if "analyzing" not in done:
        if reporter.should_stop():
            return summary | {"status": "stopped", "stage": "analyzing"}
        reporter.progress("analyzing", 0.0)
        examples = probe_examples(config, rationales)
        base_latent = _analyze(config, (config.student, None), examples, _base_dir(config, out_dir))
        latent = base_latent
        if config.method != "zero_shot":
            latent = _analyze(config, trained_model(config, out_dir), examples, out_dir)
        reporter.result("latent", latent | {"base": {k: base_latent[k] for k in LATENT_KEYS}})
        reporter.progress("analyzing", 1.0)
        _mark(out_dir, "analyzing", {k: latent[k] for k in LATENT_KEYS})

    from mind.report import write_report

    report = write_report(out_dir)
    reporter.artifact("report", report)
    model_ref = trained_model(config, out_dir)
    if model_ref[1] is not None:
        reporter.artifact("adapter", Path(model_ref[1]))
    return summary


LATENT_KEYS = ("n_points", "n_clusters", "purity", "nmi")
