"""Latent analysis: metrics on synthetic vectors, pooling on the tiny student, `mind analyze`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mind.cli import main
from mind.config import DEFAULT_INSTRUCTION, AnalysisConfig
from mind.data import read_rationales
from mind.latent import (
    ProbeItem,
    purity,
    purity_applies,
    rationale_vectors,
    reduce,
    summarise,
)
from mind.student import load_tokenizer
from mind.student_prompt import prompt_text

CFG = AnalysisConfig()


def _blobs(n_labels: int, per: int, dim: int = 64, seed: int = 0):
    """Well-separated Gaussian blobs (centres ~20 sd apart), one label per blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, dim)) * 20
    vectors = np.concatenate([c + rng.normal(size=(per, dim)) for c in centres])
    labels = [f"p{i}" for i in range(n_labels) for _ in range(per)]
    return vectors, labels, [f"q{i}" for i in range(len(labels))]


class TestPurity:
    def test_hand_checked(self):
        """Cluster 0 = {a, a} (2 right), cluster 1 = {a, b} (1 right): 3 of 4."""
        assert purity(["a", "a", "a", "b"], np.array([0, 0, 1, 1])) == 0.75

    def test_single_cluster_is_majority_share(self):
        assert purity(["a", "a", "b"], np.zeros(3, dtype=int)) == pytest.approx(2 / 3)

    @pytest.mark.parametrize(
        ("clusters", "n_active", "applies"),
        [
            pytest.param([0, 1, 2], 1, False, id="a-cluster-per-point"),
            pytest.param([0, 0, 1], 3, False, id="as-many-active-as-points"),
            pytest.param([0, 0, 1], 2, True, id="fewer-clusters"),
        ],
    )
    def test_applies_only_with_fewer_clusters_than_points(self, clusters, n_active, applies):
        """A cluster per point makes every point its cluster's majority: purity 1 by
        construction, whatever the labels."""
        assert purity_applies(np.array(clusters), n_active) is applies


class TestSummarise:
    def test_separated_blobs_recover_labels(self):
        """Three far-apart blobs: three clusters that match the labels exactly."""
        result = summarise(*_blobs(3, 10), CFG, seed=0)
        assert result.n_clusters == 3
        assert result.purity == 1.0
        assert result.nmi == pytest.approx(1.0)

    @pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
    def test_identical_points_are_one_cluster(self):
        """Nothing to separate: one cluster, purity = majority share, no information."""
        labels = ["a", "b", "c"] * 4
        result = summarise(np.ones((12, 16)), labels, [str(i) for i in range(12)], CFG, seed=0)
        assert result.n_clusters == 1
        assert result.purity == pytest.approx(1 / 3)
        assert result.nmi == pytest.approx(0.0)

    def test_as_many_clusters_as_points_has_no_purity(self):
        """Two far-apart points and two active clusters: purity is not reported (null)
        and the result says why, naming the settings to change."""
        result = summarise(*_blobs(2, 1), CFG, seed=0)
        assert (result.n_points, result.n_clusters, result.purity) == (2, 2, None)
        assert "not applicable" in result.warning and "analysis.probe_questions" in result.warning
        assert summarise(*_blobs(3, 10), CFG, seed=0).warning is None

    def test_same_seed_same_result(self):
        """PCA, the mixture and t-SNE all take the seed; nothing global is involved."""
        data = _blobs(4, 6, seed=1)
        assert summarise(*data, CFG, seed=3) == summarise(*data, CFG, seed=3)

    def test_points_follow_input_order(self):
        vectors, labels, qids = _blobs(2, 5)
        result = summarise(vectors, labels, qids, CFG, seed=0)
        assert result.n_points == len(result.points) == 10
        assert [p["perspective"] for p in result.points] == labels
        assert [p["question_id"] for p in result.points] == qids
        assert {p["cluster"] for p in result.points} == {0, 1}

    def test_pca_bounded_by_point_count(self):
        """5 points span at most 4 dimensions, whatever pca_components asks for."""
        assert reduce(np.random.default_rng(0).normal(size=(5, 64)), 32, seed=0).shape == (5, 4)

    def test_one_point_is_refused(self):
        with pytest.raises(ValueError, match="at least 2 points"):
            summarise(np.ones((1, 8)), ["a"], ["q"], CFG, seed=0)


class TestRationaleVectors:
    def test_mean_over_rationale_tokens_only(self, tiny_student: str):
        """Padded batches must equal one unpadded pass per item, averaged after the prompt."""
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(tiny_student).eval()
        tokenizer = load_tokenizer(tiny_student)
        items = [
            ProbeItem(
                "q1", "planning", "What is 2 + 3?", "Plan: add.\n2 + 3 = 5\nThe answer is 5."
            ),
            ProbeItem("q1", "intuitive", "What is 2 + 3?", "Two and three make five."),
            ProbeItem(
                "q2",
                "planning",
                "Tom has 7 apples and eats 2. How many are left?",
                "7 - 2 = 5\nThe answer is 5.",
            ),
        ]
        got = rationale_vectors(model, tokenizer, items, DEFAULT_INSTRUCTION, batch_size=2)

        assert got.shape == (3, model.config.hidden_size)
        for row, item in zip(got, items, strict=True):
            prompt = prompt_text(tokenizer, item.question, DEFAULT_INSTRUCTION)
            n_prompt = len(tokenizer(prompt, add_special_tokens=False).input_ids)
            ids = tokenizer(prompt + item.rationale, add_special_tokens=False, return_tensors="pt")
            with torch.no_grad():
                hidden = model(**ids, output_hidden_states=True).hidden_states[-1][0]
            assert np.allclose(row, hidden[n_prompt:].mean(0).numpy(), atol=1e-5)
            assert not np.allclose(row, hidden.mean(0).numpy(), atol=1e-3)

    def test_long_rationale_is_cut_to_max_seq_len(self, tiny_student: str):
        """The prompt is kept whole; the rationale's tail is what gets dropped."""
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(tiny_student).eval()
        tokenizer = load_tokenizer(tiny_student)
        item = ProbeItem("q", "planning", "What is 1 + 1?", "one plus one " * 400)
        vectors = rationale_vectors(model, tokenizer, [item], "", max_seq_len=128)
        assert np.isfinite(vectors).all()
        with pytest.raises(ValueError, match="no rationale token fits"):
            rationale_vectors(model, tokenizer, [item], "", max_seq_len=8)


def _analyze(shared: Path, out: Path, model: str, *extra: str) -> int:
    """`mind analyze` on the first 4 SVAMP questions that have accepted rationales."""
    rationales = shared / "teacher_rationales" / "svamp_test.jsonl"
    args = ["--model", model, "--rationales", str(rationales), "--output", str(out)]
    return main(["analyze", *args, "--probe-questions", "4", "--seed", "0", *extra])


@pytest.fixture(scope="module")
def base_run(tiny_student: str, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("latent-base")
    assert _analyze(shared, out, tiny_student) == 0
    return json.loads((out / "latent.json").read_text()) | {"_dir": out}


class TestAnalyzeCommand:
    def test_one_point_per_accepted_rationale(self, base_run: dict, shared: Path):
        """The probe set is the first 4 questions, each with every accepted perspective."""
        records = read_rationales(shared / "teacher_rationales" / "svamp_test.jsonl")
        accepted = {(r.id, r.perspective) for r in records if r.correct}
        first4 = list(dict.fromkeys(r.id for r in records if (r.id, r.perspective) in accepted))[:4]
        expected = {pair for pair in accepted if pair[0] in first4}

        points = base_run["points"]
        assert {(p["question_id"], p["perspective"]) for p in points} == expected
        assert base_run["n_points"] == len(points) == len(expected)
        assert 1 <= base_run["n_clusters"] <= len(points)
        assert 0 <= base_run["nmi"] <= 1
        if base_run["n_clusters"] == len(points):  # purity is 1 by construction: not given
            assert base_run["purity"] is None and "not applicable" in base_run["warning"]
        else:
            assert 0 < base_run["purity"] <= 1

    def test_html_carries_plotly_inline(self, base_run: dict):
        """The studio runs offline: no script may be fetched from a CDN."""
        html = (base_run["_dir"] / "latent.html").read_text()
        assert "<script src=" not in html
        assert "plotly.js v" in html

    def test_adapter_changes_the_student(self, base_run: dict, tiny_student: str, shared, tmp_path):
        """A checkpoint's LoRA adapter is merged: same probe set, different hidden states."""
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(tiny_student)
        lora = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
        get_peft_model(model, lora).save_pretrained(tmp_path / "adapter")

        out = tmp_path / "out"
        assert _analyze(shared, out, tiny_student, "--adapter", str(tmp_path / "adapter")) == 0
        adapted = json.loads((out / "latent.json").read_text())
        key = [(p["question_id"], p["perspective"]) for p in adapted["points"]]
        assert key == [(p["question_id"], p["perspective"]) for p in base_run["points"]]
        assert [p["x"] for p in adapted["points"]] != [p["x"] for p in base_run["points"]]

    def test_perspective_filter(self, tiny_student: str, shared: Path, tmp_path: Path):
        """--perspectives restricts the probe set to the perspectives named."""
        code = _analyze(shared, tmp_path, tiny_student, "--perspectives", "planning,decomposition")
        assert code == 0
        points = json.loads((tmp_path / "latent.json").read_text())["points"]
        assert {p["perspective"] for p in points} == {"planning", "decomposition"}

    def test_unknown_perspective_is_an_error(self, tiny_student, shared, tmp_path, capsys):
        """A typo is reported before any model is loaded, and nothing is written."""
        code = _analyze(shared, tmp_path / "out", tiny_student, "--perspectives", "planing")
        assert code == 2
        assert "planing" in capsys.readouterr().err
        assert not (tmp_path / "out").exists()
