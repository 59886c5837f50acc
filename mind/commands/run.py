"""`mind run`: the whole pipeline (generate -> train -> eval -> analyze -> report)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mind.config import load_config


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="generate, train, evaluate and analyze in one go (resumable)")
    p.add_argument("--config", type=Path, required=True, help="run config (YAML or JSON)")
    p.add_argument("--output", type=Path, required=True, help="run directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mind.pipeline import run_pipeline
    from mind.reporter import FileReporter
    from mind.teacher.generate import GenerationStopped

    config = load_config(args.config)
    args.output.mkdir(parents=True, exist_ok=True)
    reporter = FileReporter(args.output, show_progress=not args.no_progress)
    try:
        summary = run_pipeline(config, args.output, reporter)
    except GenerationStopped:
        print("mind run: stopped during generation; run again to resume", file=sys.stderr)
        return 0
    print(json.dumps({k: v for k, v in summary.items() if k != "train"}))
    return 0
