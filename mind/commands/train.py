"""`mind train`: train a student from a run config, or resume a run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mind.config import ConfigError, RunConfig, load_config, parse_config
from mind.reporter import FileReporter, NullReporter


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
    from mind.distributed import is_main_process  # torch loads only when training
    from mind.training_run import train_run

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
    if not is_main_process():  # other torchrun ranks: rank 0 reports for the run
        reporter = NullReporter()
    summary = train_run(config, out_dir, reporter, resume=resume, stop_at=args.max_steps)
    print(json.dumps(summary))
    return 0 if summary["status"] in ("completed", "stopped", "skipped") else 1


def _frozen(run_dir: Path) -> RunConfig:
    path = run_dir / "config.json"
    if not path.exists():
        raise ConfigError("--resume", f"{run_dir} has no config.json: not a run directory")
    return parse_config(json.loads(path.read_text()))
