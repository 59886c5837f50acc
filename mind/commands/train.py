"""`mind train`: train a student from a run config, or resume a run directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mind.config import ConfigError, RunConfig, dump_config, load_config, parse_config
from mind.data import DataError
from mind.methods import METHODS
from mind.reporting import FileReporter, Reporter, truncate_metrics


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="train a student (all methods)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="run config (YAML or JSON)")
    source.add_argument("--resume", type=Path, metavar="DIR", help="resume this run directory")
    p.add_argument("--output", type=Path, help="run directory (with --config)")
    p.add_argument("--max-steps", type=int, help="stop after this step (resumable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.config:
            if args.output is None:
                raise ConfigError("--output", "required with --config")
            config, out_dir, resume = load_config(args.config), args.output, False
        else:
            config, out_dir, resume = _frozen(args.resume), args.resume, True
        if args.max_steps is not None and args.max_steps <= 0:
            raise ConfigError("--max-steps", "must be a positive number of steps")
        out_dir.mkdir(parents=True, exist_ok=True)
        reporter = FileReporter(out_dir, show_progress=not args.no_progress)
        summary = train_run(config, out_dir, reporter, resume=resume, stop_at=args.max_steps)
    except (ConfigError, DataError) as exc:
        print(f"mind train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0 if summary["status"] in ("completed", "stopped", "skipped") else 1


def _frozen(run_dir: Path) -> RunConfig:
    path = run_dir / "config.json"
    if not path.exists():
        raise ConfigError("--resume", f"{run_dir} has no config.json: not a run directory")
    return parse_config(json.loads(path.read_text()))


def train_run(
    config: RunConfig,
    out_dir: Path,
    reporter: Reporter,
    resume: bool = False,
    stop_at: int | None = None,
    rationales_path: str | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run in `out_dir`; writes config.json and summary.json."""
    from mind import checkpoint
    from mind.training_data import load_training_data

    if stop_at and stop_at > config.train.max_steps:
        reporter.event("warning", f"extending max_steps {config.train.max_steps} -> {stop_at}")
        config.train.max_steps = stop_at
    dump_config(config, out_dir / "config.json")
    data = load_training_data(config, rationales_path)
    reporter.event("data", f"{len(data.examples)} questions", **vars(data.report))
    if not METHODS[config.method].trains:
        summary = {"status": "skipped", "steps": 0, "reason": f"{config.method} trains nothing"}
    else:
        from mind.trainer import Trainer

        trainer = Trainer(config, data, out_dir, reporter).setup()
        latest = checkpoint.latest(out_dir / "checkpoints") if resume else None
        if latest is not None:
            trainer.restore(latest)
            reporter.event("resume", f"resumed from {latest.name}", step=trainer.pos.step)
        truncate_metrics(out_dir / "metrics.jsonl", trainer.pos.step)
        summary = trainer.train(stop_at)
    summary |= {"method": config.method, "examples": len(data.examples)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
