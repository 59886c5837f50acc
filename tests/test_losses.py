"""Hand-checked values and properties of the MIND losses (method spec sections 3 and 5)."""

import math

import pytest
import torch

from mind import losses


def log(p: list[float]) -> torch.Tensor:
    return torch.tensor(p).log()


class TestJSD:
    def test_disjoint_distributions_give_ln2(self):
        assert losses.jsd(log([1.0, 0.0]), log([0.0, 1.0])).item() == pytest.approx(math.log(2))

    def test_hand_value(self):
        """P=(.5,.5), Q=(1,0): M=(.75,.25); JSD = (KL(P||M) + KL(Q||M)) / 2."""
        kl_pm = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
        kl_qm = math.log(1 / 0.75)
        got = losses.jsd(log([0.5, 0.5]), log([1.0, 0.0])).item()
        assert got == pytest.approx(0.5 * (kl_pm + kl_qm))

    def test_zero_on_identical_and_symmetric(self):
        p = torch.log_softmax(torch.randn(5, 7), -1)
        q = torch.log_softmax(torch.randn(5, 7), -1)
        assert torch.allclose(losses.jsd(p, p), torch.zeros(5), atol=1e-6)
        assert torch.allclose(losses.jsd(p, q), losses.jsd(q, p))
        assert (losses.jsd(p, q) <= math.log(2) + 1e-6).all()


class TestConsistency:
    def test_weighted_pairs_hand_value(self):
        """Slots 0 and 1 agree, slot 2 disagrees: 0.5*0.2*ln2 + 0.3*0.2*ln2 = 0.16 ln2."""
        a, b = [0.999999, 0.000001], [0.000001, 0.999999]
        logprobs = torch.stack([log(a), log(a), log(b)]).view(1, 3, 1, 2)
        alpha = torch.tensor([[0.5, 0.3, 0.2]])
        got = losses.consistency_loss(logprobs, torch.ones(1, 1, dtype=torch.bool), alpha)
        assert got.item() == pytest.approx(0.16 * math.log(2), rel=1e-3)

    def test_unselected_slot_and_padded_tokens_do_not_count(self):
        a, b = log([0.9, 0.1]), log([0.1, 0.9])
        # token 1 is padding and carries a large disagreement that must be ignored
        logprobs = torch.stack(
            [torch.stack([a, a]), torch.stack([a, b]), torch.stack([b, b])]
        ).unsqueeze(0)
        answer_mask = torch.tensor([[True, False]])
        alpha = torch.tensor([[0.5, 0.5, 0.0]])  # slot 2 not selected
        got = losses.consistency_loss(logprobs, answer_mask, alpha)
        assert got.item() == pytest.approx(0.0, abs=1e-7)

    def test_average_over_answer_tokens(self):
        a, b = log([0.9, 0.1]), log([0.1, 0.9])
        logprobs = torch.stack([torch.stack([a, a]), torch.stack([a, b])]).unsqueeze(0)
        alpha = torch.tensor([[0.5, 0.5]])
        got = losses.consistency_loss(logprobs, torch.ones(1, 2, dtype=torch.bool), alpha)
        assert got.item() == pytest.approx(0.25 * losses.jsd(a, b).item() / 2)


class TestMetaLoss:
    def test_hand_value(self):
        """KL(softmax(-L/tau) || softmax(s)) written out with floats."""
        s, ce, tau = [0.2, 0.8], [1.0, 2.0], 0.5
        t = [math.exp(-c / tau) for c in ce]
        t = [x / sum(t) for x in t]
        p = [math.exp(x) for x in s]
        p = [x / sum(p) for x in p]
        expected = sum(ti * math.log(ti / pi) for ti, pi in zip(t, p, strict=True))
        got = losses.meta_loss(
            torch.tensor([s]), torch.tensor([ce]), torch.ones(1, 2, dtype=torch.bool), tau
        )
        assert got.item() == pytest.approx(expected)

    def test_missing_perspectives_are_masked(self):
        """A padded slot's score and loss change nothing; a one-slot row contributes 0."""
        mask = torch.tensor([[True, True, False], [True, False, False]])
        s1 = torch.tensor([[0.2, 0.8, 0.1], [0.5, 0.0, 0.0]])
        s2 = torch.tensor([[0.2, 0.8, 0.9], [0.9, 0.3, 0.3]])
        ce1 = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
        ce2 = torch.tensor([[1.0, 2.0, 9.0], [0.1, 5.0, 5.0]])
        one = losses.meta_loss(s1, ce1, mask, 1.0)
        assert one.item() == pytest.approx(losses.meta_loss(s2, ce2, mask, 1.0).item())
        only_first = losses.meta_loss(s1[:1], ce1[:1], mask[:1], 1.0)
        assert one.item() == pytest.approx(only_first.item())

    def test_gradient_reaches_scores_only(self):
        s = torch.tensor([[0.3, 0.6]], requires_grad=True)
        ce = torch.tensor([[1.0, 2.0]], requires_grad=True)
        losses.meta_loss(s, ce, torch.ones(1, 2, dtype=torch.bool), 1.0).backward()
        assert s.grad is not None and s.grad.abs().sum() > 0
        assert ce.grad is None


class TestSelection:
    def test_beta_threshold_rule(self):
        """I = {k: s_k >= beta * max s}: with max .9 and beta .7 the bar is .63."""
        s = torch.tensor([[0.9, 0.63, 0.62, 0.95]])
        mask = torch.tensor([[True, True, True, False]])
        sel = losses.select(s, mask, 0.7)
        assert sel.tolist() == [[True, True, False, False]]

    def test_weights_softmax_over_selected_only(self):
        s = torch.tensor([[0.9, 0.7, 0.1]])
        sel = torch.tensor([[True, True, False]])
        alpha = losses.selection_weights(s, sel, 0.5)
        e0, e1 = math.exp(0.9 / 0.5), math.exp(0.7 / 0.5)
        assert alpha[0].tolist() == pytest.approx([e0 / (e0 + e1), e1 / (e0 + e1), 0.0])

    def test_weights_are_detached(self):
        s = torch.tensor([[0.9, 0.7]], requires_grad=True)
        alpha = losses.selection_weights(s, torch.ones(1, 2, dtype=torch.bool), 0.5)
        assert not alpha.requires_grad

    def test_uniform_over_present(self):
        mask = torch.tensor([[True, True, False, True]])
        assert losses.uniform_weights(mask)[0].tolist() == pytest.approx([1 / 3, 1 / 3, 0, 1 / 3])


class TestSelectionSwitches:
    def test_prob_rule_ignores_the_level_of_the_scores(self):
        """select_on=prob keeps s_k >= max s - tau ln(1/beta): a shift of all scores is ignored."""
        mask = torch.ones(1, 3, dtype=torch.bool)
        s = torch.tensor([[0.9, 0.6, 0.3]])
        low = losses.select(s - 0.5, mask, 0.5, on="prob", tau=0.5)
        high = losses.select(s, mask, 0.5, on="prob", tau=0.5)
        assert torch.equal(low, high)
        assert high.tolist() == [[True, True, False]]  # margin 0.5 * ln 2 = 0.347
        assert losses.select(s - 0.5, mask, 0.5).tolist() == [[True, False, False]]

    def test_min_selected_forces_the_best_present_slots(self):
        s = torch.tensor([[0.9, 0.1, 0.2, 0.95]])
        mask = torch.tensor([[True, True, True, False]])
        sel = losses.select(s, mask, 1.0, min_selected=2)
        assert sel.tolist() == [[True, False, True, False]]
        one = torch.tensor([[True, False, False, False]])
        assert losses.select(s, one, 1.0, min_selected=3).tolist() == [[True, False, False, False]]


class TestJsdGradient:
    def test_no_nan_gradient_at_exact_zeros(self):
        """Both distributions put exactly zero mass on a token: value and gradient stay finite."""
        log_p = torch.tensor([[0.0, 0.2, 0.8], [0.5, 0.5, 0.0]]).log().requires_grad_()
        log_q = torch.tensor([[0.0, 0.7, 0.3], [0.1, 0.9, 0.0]]).log().requires_grad_()
        value = losses.jsd(log_p, log_q)
        value.sum().backward()
        assert torch.isfinite(value).all()
        assert torch.isfinite(log_p.grad).all() and torch.isfinite(log_q.grad).all()
        expected = losses.jsd(torch.tensor([0.2, 0.8]).log(), torch.tensor([0.7, 0.3]).log())
        assert value[0].item() == pytest.approx(expected.item(), abs=1e-6)
