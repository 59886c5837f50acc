"""The real SmolLM2-135M student on real SVAMP teacher rationales, for a few steps.

Slow (about a minute or two on 2 CPU cores): it is the check that the whole core works on
the bundled model, not on a toy.
"""

from __future__ import annotations

import json
import statistics

import pytest

from mind.config import parse_config
from mind.reporter import FileReporter
from mind.training_run import train_run

pytestmark = pytest.mark.slow


def test_loss_falls_and_metanet_weights_leave_uniform(shared, tmp_path):
    config = parse_config(
        {
            "student": "smollm2-135m-instruct",
            "method": "mind",
            "perspectives": ["formal_symbolic", "decomposition", "other:standard_cot"],
            "data": {
                "questions": str(shared / "datasets/svamp/test.jsonl"),
                "rationales": str(shared / "teacher_rationales/svamp_test.jsonl"),
                "max_questions": 4,
                "prefer_teachers": ["gpt-4"],
                "min_perspectives": 3,  # every question has all three: uniform is exactly 1/3
            },
            "train": {"max_steps": 12, "questions_per_batch": 2, "max_seq_len": 256, "lr": 1e-3},
            "mind": {"warmup_fraction": 0.25},
        }
    )
    summary = train_run(config, tmp_path, FileReporter(tmp_path, show_progress=False))
    assert summary["status"] == "completed" and summary["warmup_steps"] == 3
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # 4 questions, 2 per step: steps (1, 2) see all of them before any update, the last two
    # steps see them all again after nine student updates.
    first = statistics.mean(r["sft_loss"] for r in rows[:2])
    last = statistics.mean(r["sft_loss"] for r in rows[-2:])
    assert last < 0.9 * first, f"loss did not fall: {first:.3f} -> {last:.3f}"

    for row in rows[:3]:
        weights = [p["weight"] for p in row["perspectives"].values()]
        assert row["phase"] == "warmup" and weights == pytest.approx([1 / 3] * 3)
    joint = rows[3:]
    assert all(r["phase"] == "joint" for r in joint)
    distance = [max(abs(p["weight"] - 1 / 3) for p in r["perspectives"].values()) for r in joint]
    assert max(distance) > 0.01, f"MetaNet weights stayed uniform: {distance}"
    assert all(r["meta_loss"] is not None and r["cons_loss"] is not None for r in rows)
