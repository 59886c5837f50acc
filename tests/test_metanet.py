"""MetaNet: scores in (0, 1), masking of missing perspectives, synergy across rationales."""

import torch

from mind.metanet import MetaNet


def net(synergy: bool = True) -> MetaNet:
    torch.manual_seed(0)
    return MetaNet(embed_dim=12, n_perspectives=4, dim=16, heads=4, synergy=synergy)


class TestMetaNet:
    def test_scores_in_unit_interval_and_zero_where_missing(self):
        mask = torch.tensor([[True, True, False, True], [True, False, False, False]])
        scores = net()(torch.randn(2, 4, 12), mask)
        assert scores.shape == (2, 4)
        present = scores[mask]
        assert ((present > 0) & (present < 1)).all()
        assert (scores[~mask] == 0).all()

    def test_missing_perspective_content_is_ignored(self):
        """Whatever sits in a padded slot must not change the present slots' scores."""
        mask = torch.tensor([[True, True, False, True]])
        emb = torch.randn(1, 4, 12)
        other = emb.clone()
        other[0, 2] = torch.randn(12) * 50
        model = net()
        assert torch.allclose(model(emb, mask), model(other, mask), atol=1e-6)

    def test_synergy_lets_rationales_see_each_other(self):
        mask = torch.ones(1, 4, dtype=torch.bool)
        emb = torch.randn(1, 4, 12)
        changed = emb.clone()
        changed[0, 3] += 5.0
        with_attn, without = net(synergy=True), net(synergy=False)
        assert not torch.allclose(with_attn(emb, mask)[0, 0], with_attn(changed, mask)[0, 0])
        # no_synergy ablation: slot 0's score ignores slot 3 entirely
        assert torch.allclose(without(emb, mask)[0, 0], without(changed, mask)[0, 0])

    def test_all_missing_row_gives_zeros_not_nan(self):
        scores = net()(torch.randn(1, 4, 12), torch.zeros(1, 4, dtype=torch.bool))
        assert torch.equal(scores, torch.zeros(1, 4))
