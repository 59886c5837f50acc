"""Run configs: defaults filled in, errors that name the key, failure before any model loads."""

from __future__ import annotations

import json
import time

import pytest

from mind.cli import main
from mind.config import MIND_PRESETS, ConfigError, MindConfig, parse_config


class TestParseConfig:
    def test_every_default_is_filled_in(self):
        raw = {"data": {"rationales": "r.jsonl"}, "mind": {"preset": "paper"}}
        frozen = parse_config(raw).frozen()
        assert frozen["mind"]["beta"] == 0.7
        assert frozen["mind"]["tau_student"] == 0.5
        assert frozen["mind"]["lambda_cons"] == 0.1
        assert frozen["mind"]["metanet_dim"] == 256 and frozen["mind"]["metanet_heads"] == 4
        assert frozen["mind"]["warmup_fraction"] == 0.1
        assert frozen["mind"]["meta_lr_scale"] == 0.1 and frozen["mind"]["meta_accum_scale"] == 4
        assert frozen["mind"]["ema_momentum"] is None
        assert frozen["data"]["min_perspectives"] == 2 and frozen["train"]["lora_r"] == 16
        assert frozen["mind"]["encoder"] == "all-MiniLM-L6-v2"

    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            pytest.param({"train": {"max_stepz": 3}}, "train.max_stepz", id="unknown-key"),
            pytest.param({"train": {"max_steps": 0}}, "train.max_steps", id="out-of-range"),
            pytest.param({"method": "distill"}, "method", id="bad-method"),
            pytest.param({"mind": {"beta": 1.5}}, "mind.beta", id="beta"),
            pytest.param({"mind": {"metanet_heads": 3}}, "mind.metanet_heads", id="heads"),
            pytest.param({"method": "specialist"}, "train.specialist_perspective", id="specialist"),
            pytest.param({"data": {}}, "data.rationales", id="no-rationales"),
            pytest.param({"perspectives": ["a", "a"]}, "perspectives", id="duplicates"),
            pytest.param(
                {"perspectives": ["a", "b"], "train": {"sft_perspective": "c"}},
                "train.sft_perspective",
                id="sft-perspective",
            ),
            pytest.param({"mind": {"preset": "papr"}}, "mind.preset", id="preset"),
            pytest.param({"mind": {"meta_target": "loss"}}, "mind.meta_target", id="target"),
            pytest.param({"mind": {"select_on": "rank"}}, "mind.select_on", id="select-on"),
            pytest.param({"mind": {"min_selected": 0}}, "mind.min_selected", id="min-selected"),
            pytest.param({"mind": {"beta_end": 1.2}}, "mind.beta_end", id="beta-end"),
            pytest.param({"mind": {"metanet_polyak": 1.0}}, "mind.metanet_polyak", id="polyak"),
            pytest.param({"mind": {"meta_lr": 0}}, "mind.meta_lr", id="meta-lr-value"),
            pytest.param(
                {"mind": {"meta_weight_decay": -1}}, "mind.meta_weight_decay", id="meta-wd"
            ),
            pytest.param(
                {"mind": {"meta_lr_schedule": "cosine"}}, "mind.meta_lr_schedule", id="meta-lr"
            ),
            pytest.param(
                {"mind": {"program_rationales": "hide"}}, "mind.program_rationales", id="programs"
            ),
            pytest.param(
                {"mind": {"collapse_warning_steps": 0}}, "mind.collapse_warning_steps", id="warn"
            ),
            pytest.param({"train": {"probe_questions": -1}}, "train.probe_questions", id="probe"),
            pytest.param({"train": {"probe_every": 0}}, "train.probe_every", id="probe-every"),
        ],
    )
    def test_errors_name_the_key(self, raw, key):
        raw.setdefault("data", {"rationales": "r.jsonl"})
        with pytest.raises(ConfigError) as err:
            parse_config(raw)
        assert err.value.key == key
        assert str(err.value).startswith(key)


class TestMindPresets:
    def test_paper_preset_is_the_spec_read_literally(self):
        mind = parse_config({"data": {"rationales": "r"}, "mind": {"preset": "paper"}}).mind
        assert (mind.meta_target, mind.select_on, mind.min_selected) == ("raw", "score", 1)
        assert mind.metanet_polyak is None and mind.meta_weight_decay == 0.01
        assert mind.program_rationales == "keep"

    def test_adaptive_is_the_default_and_every_governed_field_has_its_value(self):
        mind = parse_config({"data": {"rationales": "r"}}).mind
        assert mind.preset == "adaptive"
        for key, value in MIND_PRESETS["adaptive"].items():
            assert getattr(mind, key) == value, key

    def test_keys_set_explicitly_win_over_the_preset(self):
        raw = {"data": {"rationales": "r"}, "mind": {"preset": "paper", "min_selected": 2}}
        mind = parse_config(raw).mind
        assert mind.min_selected == 2 and mind.meta_target == "raw"

    def test_frozen_config_reads_back_the_same(self):
        config = parse_config({"data": {"rationales": "r"}, "mind": {"preset": "paper"}})
        assert parse_config(config.frozen()).frozen() == config.frozen()

    def test_every_field_is_described(self):
        assert all(f.description for f in MindConfig.model_fields.values())


class TestTrainCommandErrors:
    def test_bad_config_fails_fast_without_loading_a_model(self, tmp_path, capsys):
        config = tmp_path / "run.yaml"
        config.write_text("student: nowhere/none\ntrain:\n  lr: -1\ndata:\n  rationales: r\n")
        start = time.perf_counter()
        assert main(["train", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
        assert time.perf_counter() - start < 5
        assert "train.lr" in capsys.readouterr().err
        assert not (tmp_path / "out" / "checkpoints").exists()

    def test_bad_rationale_record_names_file_and_line(self, tmp_path, capsys):
        bad = tmp_path / "r.jsonl"
        good = {
            "id": "q",
            "perspective": "planning",
            "rationale": "x",
            "question": "?",
            "answer": "1",
        }
        bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "correct": "yes"}) + "\n")
        config = tmp_path / "run.yaml"
        config.write_text(f"student: nowhere/none\ndata:\n  rationales: {bad}\n")
        assert main(["train", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
        assert f"{bad}:2: field 'correct'" in capsys.readouterr().err

    def test_unknown_perspective_is_refused(self, tmp_path, capsys, shared):
        config = tmp_path / "run.yaml"
        rationales = shared / "teacher_rationales/svamp_test.jsonl"
        config.write_text(f"perspectives: [telepathy]\ndata:\n  rationales: {rationales}\n")
        assert main(["train", "--config", str(config), "--output", str(tmp_path / "o")]) == 2
        assert "perspectives: unknown perspective(s) ['telepathy']" in capsys.readouterr().err

    def test_resume_of_a_non_run_directory(self, tmp_path, capsys):
        assert main(["train", "--resume", str(tmp_path)]) == 2
        assert "no config.json" in capsys.readouterr().err
