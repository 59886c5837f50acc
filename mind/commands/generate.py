"""`mind generate`: the teacher writes one rationale per question and perspective.

Reads the run config's `teacher`, `data.questions`, `perspectives` and `data.max_questions`,
and writes DIR/rationales.jsonl and DIR/generation_report.json. Finished teacher outputs are
cached (in DIR, or --cache-dir), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mind.config import ConfigError, load_config
from mind.errors import MindError
from mind.reporter import FileReporter


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate teacher rationales", description=__doc__)
    p.add_argument("--config", required=True, type=Path, help="run config (YAML or JSON)")
    p.add_argument("--output", required=True, type=Path, help="directory for the rationales")
    p.add_argument("--cache-dir", type=Path, help="teacher cache directory (default: --output)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"mind generate: error: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    from mind.teacher.generate import REPORT_FILE, generate_rationales

    try:
        config = load_config(args.config)
        if config.teacher is None:
            raise ConfigError("teacher", "`mind generate` needs a teacher section")
        args.output.mkdir(parents=True, exist_ok=True)
        reporter = FileReporter(args.output)
        try:
            path = generate_rationales(config, args.output, reporter, args.cache_dir)
        finally:
            reporter.close()
    except MindError as exc:  # exit status 1: the teacher or its data failed
        return _fail(str(exc))
    print(f"wrote {path} and {args.output / REPORT_FILE}")
    return 0
