"""The teaching assistant's parts without a student: targets, selection metrics, inertia."""

from __future__ import annotations

import math

import pytest
import torch

from mind.assistant import TargetTracker, TeachingAssistant, rank_correlation, selection_entropy
from mind.config import parse_config

ALL = torch.ones(2, 3, dtype=torch.bool)


def config(**mind):
    return parse_config({"data": {"rationales": "r"}, "mind": {"metanet_dim": 16, **mind}})


def tracker(**mind) -> TargetTracker:
    return TargetTracker(4, 3, config(**mind).mind)


class TestTargets:
    def test_raw_is_the_live_ce(self):
        ce = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 0.2]])
        assert torch.equal(tracker(meta_target="raw", ema_momentum=None)([0, 1], ce, ALL), ce)

    def test_progress_ranks_the_rationale_whose_loss_fell_most_first(self):
        t = tracker(meta_target="progress", ema_momentum=None)
        first = t([0, 1], torch.tensor([[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]), ALL)
        assert torch.equal(first, torch.zeros(2, 3)), "no progress before a second visit"
        later = t([0, 1], torch.tensor([[1.0, 2.0, 2.5], [1.0, 1.0, 1.0]]), ALL)
        assert later[0].tolist() == pytest.approx([-1.0, 0.0, 0.5])  # lower ranks first
        assert later[1].tolist() == pytest.approx([0.0, 0.0, 0.0])

    def test_excess_subtracts_the_base_students_ce(self):
        t = tracker(meta_target="excess", ema_momentum=None)
        t.base = torch.tensor([[1.0, 1.5, 2.0]] * 4)
        got = t([2, 3], torch.tensor([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), ALL)
        assert torch.allclose(got, torch.tensor([[0.0, -0.5, -1.0], [1.0, 0.5, 0.0]]))

    def test_centred_removes_each_perspectives_level(self):
        """A perspective that is always 2 nats harder ranks like the others once centred."""
        t = tracker(meta_target="centred", ema_momentum=None)
        ce = torch.tensor([[1.0, 3.0, 0.5], [2.0, 4.0, 1.5]])
        got = t([0, 1], ce, ALL)
        assert torch.allclose(got[:, 0], got[:, 1]) and torch.allclose(got[:, 1], got[:, 2])

    def test_smoothing_is_per_question_and_keeps_absent_values(self):
        """ema_momentum mixes each (question, slot) with its own past, not a shared mean."""
        t = tracker(meta_target="raw", ema_momentum=0.5)
        t([0, 1], torch.tensor([[1.0, 1.0, 1.0], [5.0, 5.0, 5.0]]), ALL)
        mask = torch.tensor([[True, True, False]])
        got = t([0], torch.tensor([[3.0, 1.0, 9.0]]), mask)
        assert torch.allclose(got, torch.tensor([[2.0, 1.0, 0.0]]))
        assert t.smooth[0].tolist() == pytest.approx([2.0, 1.0, 1.0]), "absent slot not touched"
        assert t.smooth[1].tolist() == pytest.approx([5.0, 5.0, 5.0])


class TestSelectionMetrics:
    def test_entropy_of_the_weights(self):
        alpha = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
        assert selection_entropy(alpha).tolist() == pytest.approx([0.0, math.log(2)])

    def test_rank_correlation_with_the_live_loss(self):
        ce = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
        agree = torch.tensor([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
        assert rank_correlation(agree, ce, ALL) == pytest.approx(1.0)
        assert rank_correlation(agree.flip(-1), ce, ALL) == pytest.approx(-1.0)
        one = torch.tensor([[True, False, False], [True, False, False]])
        assert rank_correlation(agree, ce, one) is None


class TestAssistant:
    def make(self, **mind) -> TeachingAssistant:
        cfg = config(**mind)
        assistant = TeachingAssistant(cfg, ["a", "b", "c"], use_network=True, joint_steps=10)
        assistant.tracker = TargetTracker(2, 3, cfg.mind)
        torch.manual_seed(0)
        assistant.embeddings = torch.randn(2, 3, 8)
        assistant.build(8, torch.device("cpu"))
        return assistant

    def test_polyak_average_lags_the_live_metanet(self):
        assistant = self.make(metanet_polyak=0.9, meta_accum_scale=1, meta_lr_scale=1.0)
        assert assistant.averaged is not None and assistant.network is not None
        ce = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
        for _ in range(5):
            _, meta = assistant.weigh([0, 1], ce, ALL, joint_step=0)
            assistant.learn(meta, joint=True, lr_factor=1.0)
        live = assistant.network(assistant.embeddings, ALL)
        averaged = assistant.averaged(assistant.embeddings, ALL)
        assert not torch.allclose(live, averaged)
        weights, _ = assistant.weigh([0, 1], ce, ALL, joint_step=0)
        assert torch.allclose(weights.scores, averaged.detach())

    def test_weight_decay_is_the_named_field(self):
        assistant = self.make(meta_weight_decay=0.03)
        assert assistant.optimizer is not None
        assert assistant.optimizer.param_groups[0]["weight_decay"] == 0.03

    def test_meta_lr_follows_the_students_schedule_when_asked(self):
        assistant = self.make(meta_lr_schedule="student", meta_accum_scale=1, meta_lr_scale=0.5)
        _, meta = assistant.weigh([0, 1], torch.rand(2, 3), ALL, joint_step=0)
        assistant.learn(meta, joint=True, lr_factor=0.25)
        assert assistant.optimizer is not None
        assert assistant.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5 * 0.25)

    def test_beta_schedule_moves_linearly_over_the_joint_steps(self):
        assistant = self.make(beta=0.8, beta_end=0.4)
        assert [assistant.beta(s) for s in (0, 5, 10, 20)] == pytest.approx([0.8, 0.6, 0.4, 0.4])

    def test_no_inertia_changes_only_where_the_scores_come_from(self):
        """Scores are softmax(-target/tau_meta); selection and weights use the MetaNet rules."""
        cfg = config(
            meta_target="raw",
            ema_momentum=None,
            select_on="score",
            min_selected=1,
            tau_meta=1.0,
            beta=0.7,
        )
        assistant = TeachingAssistant(cfg, ["a", "b", "c"], use_network=False, joint_steps=10)
        assistant.tracker = TargetTracker(2, 3, cfg.mind)
        ce = torch.tensor([[1.0, 1.1, 3.0], [1.0, 1.0, 1.0]])
        weights, meta = assistant.weigh([0, 1], ce, ALL, joint_step=0)
        assert meta is None
        expected = torch.softmax(-ce / cfg.mind.tau_meta, -1)
        assert torch.allclose(weights.scores, expected)
        assert weights.selected[0].tolist() == [True, True, False]
        kept = expected[0, :2] / cfg.mind.tau_student
        assert weights.alpha[0, :2].tolist() == pytest.approx(torch.softmax(kept, -1).tolist())
