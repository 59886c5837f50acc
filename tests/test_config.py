"""Run configs: defaults filled in, errors that name the key, failure before any model loads."""

from __future__ import annotations

import json
import time

import pytest

from mind.cli import main
from mind.config import ConfigError, parse_config


class TestParseConfig:
    def test_every_default_is_filled_in(self):
        frozen = parse_config({"data": {"rationales": "r.jsonl"}}).frozen()
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
        ],
    )
    def test_errors_name_the_key(self, raw, key):
        raw.setdefault("data", {"rationales": "r.jsonl"})
        with pytest.raises(ConfigError) as err:
            parse_config(raw)
        assert err.value.key == key
        assert str(err.value).startswith(key)


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
