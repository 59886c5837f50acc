"""Fully sharded data parallel (FSDP2) for full fine-tuning on `train.devices` ranks.

LoRA runs replicate the small trainable state and average gradients (`mind.distributed`);
a full fine-tune of a student that does not fit one device shards it instead: every
decoder layer is its own `fully_shard` unit, and `ShardedStudent` is the root unit (the
embeddings, final norm and the tied LM head). The root wraps the whole of
`mind.forward.student_forward`, because that function calls the decoder and reads the LM
head's weight directly: a root whose own `forward` were bypassed would never gather them.

Checkpoints hold the full (unsharded) weights and a full optimizer state keyed by parameter
name (torch.distributed.checkpoint's state-dict API), gathered to rank 0 on the CPU, so a
run resumes onto any number of ranks, one included. Gradients are averaged over ranks by
FSDP's reduce-scatter, so the trainer does not all-reduce them again.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from mind.batching import Batch
from mind.forward import StudentOutput, student_forward

GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)
SCATTER = StateDictOptions(full_state_dict=True)


class ShardedStudent(torch.nn.Module):
    """The root FSDP unit: one call runs the student's whole forward (see module doc)."""

    def __init__(self, student: Any):
        super().__init__()
        self.student = student

    def forward(
        self, batch: Batch, with_answers: bool, packed_attention: str
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = student_forward(self.student, batch, with_answers, packed_attention)
        return out.ce, out.answer_logprobs

    def run(self, batch: Batch, with_answers: bool, packed_attention: str) -> StudentOutput:
        """`student_forward`'s result, through the FSDP hooks."""
        return StudentOutput(*self(batch, with_answers, packed_attention))


def _layers(student: Any) -> list[torch.nn.Module]:
    """The decoder layers (`_no_split_modules` classes, as transformers names them)."""
    names = set(getattr(student, "_no_split_modules", None) or [])
    found = [m for m in student.modules() if type(m).__name__ in names]
    if found:
        return found
    layers = getattr(student.get_decoder(), "layers", None)
    if layers is None:
        raise ValueError(f"{type(student).__name__}: no decoder layers to shard")
    return list(layers)


def shard(student: Any, world: int, device: torch.device) -> ShardedStudent:
    """Shard a student (loaded on the CPU) over the `world` ranks of the process group.

    The shards move to `device` (CUDA: this rank's device); the returned root is what the
    trainer calls. Raises ValueError for a model without recognisable decoder layers.
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh(device.type, (world,))
    for layer in _layers(student):
        fully_shard(layer, mesh=mesh)
    root = ShardedStudent(student)
    # The root reshards after forward too (FSDP2 keeps a root gathered until its backward):
    # a forward without backward (warm-up, CE probes) must not leave gathered parameters
    # registered, or the optimizer and the checkpoint would no longer find the sharded ones.
    fully_shard(root, mesh=mesh, reshard_after_forward=True)
    return root


def full_weights(student: Any) -> dict[str, torch.Tensor]:
    """The whole student's weights on the CPU: on rank 0 (empty elsewhere). Collective.

    A tied weight (the LM head sharing the embeddings) is kept once, under its first name,
    as `save_pretrained` of an unsharded model keeps it: gathering copies it per name.
    """
    weights = get_model_state_dict(student, options=GATHER)
    names: dict[int, list[str]] = {}
    for name, param in student.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    for tied in names.values():
        for name in tied[1:]:
            weights.pop(name, None)
    return weights


def full_optimizer_state(student: Any, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer state keyed by parameter name, whole, on rank 0 (empty elsewhere).

    Also for one process: the format does not depend on the number of ranks. Collective.
    """
    return get_optimizer_state_dict(student, optimizer, options=GATHER)


def load_weights(student: Any, weights: dict[str, torch.Tensor]) -> None:
    """Load full weights (every rank passes them) into a sharded or a plain student."""
    set_model_state_dict(student, weights, options=SCATTER)


def load_optimizer_state(
    student: Any, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Load a `full_optimizer_state` (every rank passes it), on any number of ranks."""
    set_optimizer_state_dict(student, optimizer, state, options=SCATTER)


def keyed_by_name(optimizer_state: dict[str, Any]) -> bool:
    """True for a `full_optimizer_state`; False for `Optimizer.state_dict()` (int ids)."""
    groups = optimizer_state.get("param_groups") or [{}]
    return any(isinstance(p, str) for p in groups[0].get("params", []))
