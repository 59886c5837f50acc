"""The trainer on a tiny random student with real SVAMP rationales: every method, the
MIND warm-up and inertia rules, clean stops and exact resume."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from mind.config import RunConfig, parse_config
from mind.reporter import NullReporter
from mind.step_record import CURRICULUM
from mind.trainer import Trainer
from mind.training_data import load_training_data
from mind.training_run import train_run

PERSPECTIVES = ["formal_symbolic", "decomposition", "other:standard_cot"]


def make_config(student: str, shared: Path, **overrides: Any) -> RunConfig:
    raw: dict[str, Any] = {
        "student": student,
        "method": "mind",
        "perspectives": PERSPECTIVES,
        "data": {
            "questions": str(shared / "datasets/svamp/test.jsonl"),
            "rationales": str(shared / "teacher_rationales/svamp_test.jsonl"),
            "max_questions": 4,
        },
        "train": {"max_steps": 4, "questions_per_batch": 2, "max_seq_len": 192, "lr": 1e-3},
        "mind": {"metanet_dim": 32},
        "seed": 0,
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            raw[section][field] = value
        else:
            raw[section] = value
    return parse_config(raw)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def trainable(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters() if p.requires_grad])


class StopAfter(NullReporter):
    def __init__(self, steps: int):
        self.steps, self.seen = steps, 0

    def log_step(self, record: dict[str, Any]) -> None:
        self.seen += 1

    def should_stop(self) -> bool:
        return self.seen >= self.steps


class TestMethods:
    @pytest.mark.parametrize(
        ("method", "extra", "has_cons", "has_meta"),
        [
            pytest.param("sft", {}, False, False, id="sft"),
            pytest.param("sbs", {}, False, False, id="sbs"),
            pytest.param("uniform", {}, False, False, id="uniform"),
            pytest.param("mcc", {}, True, False, id="mcc"),
            pytest.param("mind", {}, True, True, id="mind"),
            pytest.param(
                "specialist",
                {"train__specialist_perspective": "decomposition"},
                False,
                False,
                id="specialist",
            ),
            pytest.param("mind", {"mind__no_synergy": True}, True, True, id="no_synergy"),
            pytest.param("mind", {"mind__no_inertia": True}, True, False, id="no_inertia"),
            pytest.param("mind", {"mind__no_consistency": True}, False, True, id="no_consistency"),
        ],
    )
    def test_trains_and_logs_what_the_method_has(
        self, tiny_student, shared, tmp_path, method, extra, has_cons, has_meta
    ):
        config = make_config(tiny_student, shared, method=method, train__max_steps=2, **extra)
        summary = train_run(config, tmp_path, NullReporterWithFiles(tmp_path))
        assert summary["status"] == "completed" and summary["steps"] == 2
        rows = read_metrics(tmp_path)
        assert [r["step"] for r in rows] == [1, 2]
        for row in rows:
            assert {*CURRICULUM, "tokens_trained", "tokens_trained_total", "probe_ce"} <= set(row)
            assert (row["cons_loss"] is not None) == has_cons
            assert (row["meta_loss"] is not None) == has_meta
            assert row["loss"] > 0 and row["tokens"] > 0
            assert 0 < row["tokens_trained"] <= row["tokens"]
            assert row["probe_ce"] and all(v > 0 for v in row["probe_ce"].values())
            assert 1 <= row["selected_size"] <= len(row["perspectives"])
            weights = {k: v["weight"] for k, v in row["perspectives"].items()}
            if method == "sbs":
                assert weights == {"task:answer": 0.5, "task:rationale": 0.5}
            elif method in ("sft", "specialist"):
                assert set(weights.values()) == {1.0}
            elif method in ("uniform", "mcc"):
                assert all(w < 1.0 for w in weights.values())
        if method == "specialist":
            assert {k for r in rows for k in r["perspectives"]} == {"decomposition"}
        assert (tmp_path / "checkpoints/step-2/adapter/adapter_model.safetensors").exists()
        assert summary["tokens_trained"] == sum(r["tokens_trained"] for r in rows)
        assert summary["tokens_presented"] == rows[-1]["tokens_total"]

    def test_zero_shot_trains_nothing(self, tiny_student, shared, tmp_path):
        summary = train_run(
            make_config(tiny_student, shared, method="zero_shot"), tmp_path, NullReporter()
        )
        assert summary["status"] == "skipped" and not (tmp_path / "checkpoints").exists()


class NullReporterWithFiles(NullReporter):
    """Writes metrics.jsonl like the CLI's reporter, without a progress bar or signals."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir

    def log_step(self, record: dict[str, Any]) -> None:
        with (self.out_dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")


class TestWarmupAndInertia:
    def test_student_frozen_during_warmup_metanet_not(self, tiny_student, shared, tmp_path):
        # every question has all three perspectives, so uniform means exactly 1/3 each
        config = make_config(
            tiny_student, shared, mind__warmup_fraction=0.5, data__min_perspectives=3
        )
        trainer = Trainer(config, load_training_data(config), tmp_path, NullReporter()).setup()
        assert trainer.warmup == 2
        student0, meta0 = trainer_state(trainer)
        for _ in range(2):
            record = trainer.optimizer_step()
            assert record.phase == "warmup" and record.get("lr") == 0.0
            assert record.get("tokens_trained") == 0 < record.get("tokens"), "no gradient"
            weights = [v.weight for v in record.perspectives.values()]
            assert weights == pytest.approx([1 / 3] * 3), "weights are uniform in warm-up"
        student1, meta1 = trainer_state(trainer)
        assert torch.equal(student0, student1), "student must not move during warm-up"
        assert not torch.equal(meta0, meta1), "MetaNet trains during warm-up"
        assert trainer.optimizer_step().phase == "joint"
        assert not torch.equal(student1, trainer_state(trainer)[0])

    def test_metanet_smaller_lr_and_longer_accumulation(self, tiny_student, shared, tmp_path):
        """Joint phase: MetaNet steps once per meta_accum_scale student steps, at lr * scale."""
        config = make_config(
            tiny_student,
            shared,
            mind__warmup_fraction=0.0,
            mind__meta_accum_scale=3,
            mind__meta_lr_scale=0.1,
            train__max_steps=6,
        )
        trainer = Trainer(config, load_training_data(config), tmp_path, NullReporter()).setup()
        metas = [trainer_state(trainer)[1]]
        for _ in range(6):
            trainer.optimizer_step()
            metas.append(trainer_state(trainer)[1])
        moved = [not torch.equal(a, b) for a, b in itertools.pairwise(metas)]
        assert moved == [False, False, True, False, False, True]
        assert trainer.assistant is not None and trainer.assistant.optimizer is not None
        assert trainer.assistant.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)


def trainer_state(trainer: Trainer) -> tuple[torch.Tensor, torch.Tensor]:
    assert trainer.assistant is not None and trainer.assistant.network is not None
    network = trainer.assistant.network
    meta = torch.cat([p.detach().flatten().clone() for p in network.parameters()])
    return trainable(trainer.model), meta


class TestResume:
    @pytest.mark.parametrize("finetune", ["lora", "full"])
    def test_resume_matches_uninterrupted(self, tiny_student, shared, tmp_path, finetune):
        """Stop after step 2, resume: steps 3-5 log exactly what an uninterrupted run logs."""
        config = make_config(
            tiny_student,
            shared,
            train__max_steps=5,
            train__finetune=finetune,
            train__lora_dropout=0.1 if finetune == "lora" else 0.0,
            mind__warmup_fraction=0.2,
            mind__ema_momentum=0.9,
        )
        full, parts = tmp_path / "full", tmp_path / "parts"
        full.mkdir(), parts.mkdir()
        train_run(config, full, NullReporterWithFiles(full))
        first = train_run(
            config.model_copy(deep=True), parts, NullReporterWithFiles(parts), stop_at=2
        )
        assert first["status"] == "stopped" and first["steps"] == 2
        config2 = parse_config(json.loads((parts / "config.json").read_text()))
        second = train_run(config2, parts, NullReporterWithFiles(parts), resume=True)
        assert second["status"] == "completed" and second["steps"] == 5

        def strip(rows):
            return [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in rows]

        assert strip(read_metrics(parts)) == strip(read_metrics(full))

    def test_wall_time_adds_up_over_attempts(self, tiny_student, shared, tmp_path):
        """A resumed run's wall time is its attempts' together: the earlier attempts' time
        comes back with the checkpoint (set to an hour here, so the total cannot pass for
        the last attempt alone)."""
        earlier_s = 3600.0
        config = make_config(tiny_student, shared)
        first = train_run(config, tmp_path, NullReporter(), stop_at=2)
        saved = tmp_path / "checkpoints/step-2/trainer.pt"
        state = torch.load(saved, weights_only=False)
        assert 0 < state["position"]["wall_time_s"] <= first["wall_time_s"]
        state["position"]["wall_time_s"] = earlier_s
        torch.save(state, saved)
        resumed = parse_config(json.loads((tmp_path / "config.json").read_text()))
        began = time.perf_counter()
        second = train_run(resumed, tmp_path, NullReporter(), resume=True)
        assert second["status"] == "completed"
        assert earlier_s < second["wall_time_s"] <= earlier_s + time.perf_counter() - began

    def test_should_stop_saves_and_stops(self, tiny_student, shared, tmp_path):
        config = make_config(tiny_student, shared)
        summary = train_run(config, tmp_path, StopAfter(1))
        assert summary["status"] == "stopped" and summary["steps"] == 1
        assert (tmp_path / "checkpoints/step-1/trainer.pt").exists()

    def test_resume_refuses_changed_data(self, tiny_student, shared, tmp_path):
        config = make_config(tiny_student, shared)
        train_run(config, tmp_path, NullReporter(), stop_at=1)
        changed = make_config(tiny_student, shared, data__max_questions=3)
        with pytest.raises(ValueError, match="training data changed"):
            train_run(changed, tmp_path, NullReporter(), resume=True)


class WarningsRecorder(NullReporter):
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def event(self, kind: str, message: str, **data: Any) -> None:
        if kind == "warning":
            self.warnings.append(message)


class TestCollapseWarning:
    def test_one_member_for_the_stretch_warns_once_naming_the_knobs(
        self, tiny_student, shared, tmp_path
    ):
        config = make_config(
            tiny_student,
            shared,
            train__max_steps=4,
            mind__warmup_fraction=0.0,
            mind__select_on="score",
            mind__beta=1.0,
            mind__min_selected=1,
            mind__collapse_warning_steps=2,
        )
        reporter = WarningsRecorder()
        train_run(config, tmp_path, reporter)
        (warning,) = reporter.warnings
        assert "one member for 2 steps" in warning
        assert "mind.min_selected" in warning and "mind.meta_target" in warning
