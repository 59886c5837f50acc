"""MetaNet, the teaching assistant (method spec section 3).

Input: frozen sentence embeddings of each (question, rationale) pair, [Q, P, E], and the
mask of present perspectives [Q, P]. Output: one score in (0, 1) per rationale, [Q, P].
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int):
        super().__init__()
        self.fc = nn.Linear(d_in, d_hidden)
        self.act = nn.GELU()
        self.proj = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.act(self.fc(x)))


class Synergy(nn.Module):
    """Self-attention across the K rationales of one question, then concat and linear."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.fuse = nn.Linear(2 * dim, dim)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # A row with no present slot would make every key masked (NaN); it is zeroed by
        # the caller anyway, so let it attend to everything.
        pad = ~mask & mask.any(-1, keepdim=True)
        ctx, _ = self.attn(h, h, h, key_padding_mask=pad, need_weights=False)
        return self.fuse(torch.cat([h, ctx], dim=-1))


class MetaNet(nn.Module):
    def __init__(
        self, embed_dim: int, n_perspectives: int, dim: int, heads: int, synergy: bool = True
    ):
        super().__init__()
        self.align = MLP(embed_dim, dim, dim)
        self.perspective = nn.Embedding(n_perspectives, dim)
        self.synergy = Synergy(dim, heads) if synergy else None
        self.head = MLP(dim, dim, 1)

    def forward(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q, p, _ = embeddings.shape
        assert mask.shape == (q, p), f"mask {tuple(mask.shape)} vs embeddings {(q, p)}"
        slots = torch.arange(p, device=embeddings.device)
        h = self.align(embeddings) + self.perspective(slots)  # [Q, P, d]
        if self.synergy is not None:
            h = self.synergy(h, mask)
        scores = torch.sigmoid(self.head(h).squeeze(-1))  # [Q, P]
        return scores * mask
