"""CPU evaluation's linear layers on oneDNN, with each weight packed once.

On CPU, torch runs an fp32 `nn.Linear` through MKL's sgemm, which lays the weight out
afresh on every call; at decode batch sizes (1-64 rows per step) oneDNN with a weight
prepacked for its kernels ran 1.3-3x faster on the project's 2-core VM (docs/benchmarks.md).
Inductor's CPU freezing pass makes the same swap in compiled graphs; here it is applied to
an eager, frozen student, with no compile (which costs minutes on a CPU). Outputs agree with
`F.linear` up to fp32 rounding: the kernels sum in another order.
"""

from __future__ import annotations

import torch
from torch import nn

PACK_ROWS_HINT = 64  # rows per call (the decode batch) oneDNN lays the packed weight out for


class PackedLinear(nn.Module):
    """A frozen `nn.Linear` whose weight oneDNN packed once: [..., in] -> [..., out]."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, PACK_ROWS_HINT)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")


def can_pack(model: nn.Module) -> bool:
    """Whether `model` is an fp32 model on CPU and this torch has oneDNN."""
    weight = next(model.parameters())
    return (
        torch.backends.mkldnn.is_available()
        and weight.device.type == "cpu"
        and weight.dtype == torch.float32
    )


def pack_linears(model: nn.Module) -> nn.Module:
    """`model` with every `nn.Linear` replaced, in place, by a `PackedLinear`.

    For a frozen model that stays on the CPU (the packed weights are not parameters, so
    `.to()` and `state_dict()` no longer see them). Raises ValueError when `can_pack` is
    false.
    """
    if not can_pack(model):
        raise ValueError("packed linear layers need an fp32 model on a CPU with oneDNN")
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Linear:
                setattr(parent, name, PackedLinear(child))
    return model
