"""Data-parallel training over `train.devices` ranks with torch.distributed.

A run on N devices is N processes started by torchrun (`python -m torch.distributed.run
--nproc-per-node N -m mind.cli train ...`), which sets RANK, WORLD_SIZE, LOCAL_RANK and the
rendezvous address. Every rank draws the same global micro-batch of `questions_per_batch`
questions and runs the student on its own contiguous slice of them (`local_rows`). What
makes the ranks agree:

- MetaNet's inputs, the per-rationale losses [Q, P], the slot mask and the question ids, are
  gathered from every rank (`gather_questions`), so each rank runs the same replicated
  MetaNet on the same global batch: the same scores, selected sets and weights, and the
  same MetaNet update, with no MetaNet gradient exchange.
- The student's gradients are averaged over ranks after the backward pass
  (`average_gradients`, DDP's all-reduce), so with equal slices every rank steps on the
  gradient of the global mean loss, as one process with the whole batch would.
- Only rank 0 writes checkpoints and metrics. All training state is replicated, so a run
  resumes from a checkpoint onto any number of ranks that divides the global batch.

That is the LoRA path. A full fine-tune on several ranks shards the student instead
(`mind.sharding`, FSDP2): the same batch split and gathered MetaNet inputs, with gradients
averaged by FSDP's reduce-scatter and checkpoints gathered whole to rank 0.

CPU runs use the gloo backend, CUDA runs nccl with one device per rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: rank `rank` of `world` (one rank: no group)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    backend_device: str = "cpu"  # where the tensors of collectives live

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """A CUDA run puts each rank on its own local device."""
        if device.type == "cuda" and self.world > 1:
            return torch.device("cuda", self.local_rank)
        return device


def join(devices: int, device: torch.device) -> Ranks:
    """Join the torchrun process group of `devices` ranks (or none for one device).

    Raises ValueError naming `train.devices` when the launch does not match the config.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world != devices:
        raise ValueError(
            f"train.devices is {devices} but this process was started as one of {world} "
            f"(launch with torchrun --nproc-per-node {devices})"
        )
    if world == 1:
        return Ranks()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    backend = f"cuda:{local_rank}" if device.type == "cuda" else "cpu"
    return Ranks(dist.get_rank(), world, local_rank, backend)


def local_rows(questions: int, ranks: Ranks) -> slice:
    """This rank's contiguous share of a global micro-batch of `questions` questions."""
    share = questions // ranks.world
    return slice(ranks.rank * share, (ranks.rank + 1) * share)


def _gather(x: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """Concatenate equal-shaped [q, ...] tensors of all ranks along dim 0, in rank order."""
    parts = [torch.empty_like(x) for _ in range(ranks.world)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def gather_questions(
    ce: torch.Tensor, mask: torch.Tensor, example_index: list[int], ranks: Ranks
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The global batch's losses [Q, P] (detached), slot mask [Q, P] and question ids."""
    if ranks.world == 1:
        return ce.detach(), mask, example_index
    index = torch.tensor(example_index, device=ce.device)
    return (
        _gather(ce.detach(), ranks),
        _gather(mask, ranks),
        _gather(index, ranks).tolist(),
    )


def average_gradients(params: list[torch.nn.Parameter], ranks: Ranks) -> None:
    """Replace each gradient by its mean over ranks (one flat all-reduce, as DDP buckets)."""
    if ranks.world == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= ranks.world
    for g, part in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        g.copy_(part.view_as(g))


def mean_over_ranks(values: list[float], ranks: Ranks) -> list[float]:
    """Element-wise mean of per-rank scalars (per-rank metrics into run metrics)."""
    if ranks.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ranks.backend_device)
    dist.all_reduce(t)
    return (t / ranks.world).tolist()


def any_rank(flag: bool, ranks: Ranks) -> bool:
    """True on every rank if it is True on any (a stop request seen by one stops all)."""
    if ranks.world == 1:
        return flag
    t = torch.tensor([int(flag)], device=ranks.backend_device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(ranks: Ranks) -> None:
    if ranks.world > 1:
        dist.barrier()


def leave() -> None:
    """Leave the process group once training is over (rank 0 evaluates alone)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a process started alone: the one that writes files."""
    return os.environ.get("RANK", "0") == "0"
