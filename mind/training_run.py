"""Training as one step of a run: load the data, train or resume, write summary.json.

`mind train` and the `mind run` pipeline both call `train_run`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mind import checkpoint
from mind.config import RunConfig, dump_config
from mind.methods import METHODS
from mind.reporter import Reporter, truncate_metrics
from mind.training_data import load_training_data


def train_run(
    config: RunConfig,
    out_dir: Path,
    reporter: Reporter,
    resume: bool = False,
    stop_at: int | None = None,
    rationales_path: str | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run in `out_dir`; writes config.json and summary.json."""
    if stop_at and stop_at > config.train.max_steps:
        reporter.event("warning", f"extending max_steps {config.train.max_steps} -> {stop_at}")
        config.train.max_steps = stop_at
    from mind.distributed import is_main_process

    main = is_main_process()  # with train.devices > 1, rank 0 alone writes files
    if main:
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
        if main:
            truncate_metrics(out_dir / "metrics.jsonl", trainer.pos.step)
        summary = trainer.train(stop_at)
        from mind.distributed import leave

        leave()  # the other ranks are done; rank 0 may go on to evaluate alone
    summary |= {"method": config.method, "examples": len(data.examples)}
    if main:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
