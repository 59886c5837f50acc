"""Packed vs padded forward on the device at hand: the same losses, answers and gradients.

tests/test_packing.py proves this on CPU; the attention kernels differ on a GPU (flash SDPA
with GQA for packed rows, masked SDPA for padded ones, FlexAttention's document mask, and
flash-attn's varlen kernel when installed), so the benchmark script checks every packed
kernel there before timing anything. Exits 1 if float32 results disagree.

    python -m bench.packing_check --device cuda
"""

from __future__ import annotations

import argparse

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

from mind.batching import Encoded, Group, collate
from mind.forward import student_forward
from mind.losses import IGNORE_INDEX
from mind.packing import flash_available

FP32_TOLERANCE = 1e-4


def groups(vocab: int, seed: int = 0) -> list[Group]:
    """Three questions of two rationales each, lengths 40..200, prompts of 16 tokens."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for q in range(3):
        prompt = torch.randint(3, vocab, (16,), generator=g).tolist()
        slots = {}
        for s in range(2):
            n = int(torch.randint(40, 201, (1,), generator=g))
            ids = prompt + torch.randint(3, vocab, (n - 16,), generator=g).tolist()
            labels = [IGNORE_INDEX] * 15 + ids[16:] + [IGNORE_INDEX]
            slots[s] = Encoded(ids, labels, [n - 5, n - 4, n - 3])
        out.append(Group(q, slots))
    return out


def differences(
    model: torch.nn.Module, batch_groups: list[Group], device: str, kernel: str
) -> list[float]:
    """Largest |packed - padded| of per-sequence CE, answer log-probs and gradients, with
    `kernel` (`train.packed_attention`) for the packed rows."""
    results = []
    for packed in (False, True):
        model.zero_grad()
        batch = collate(batch_groups, 2, 0, packed).to(device)
        out = student_forward(model, batch, True, packed_attention=kernel)
        (out.ce.sum() + out.answer_logprobs.exp().mean()).backward()
        grads = torch.cat([p.grad.float().flatten() for p in model.parameters()])
        results.append((out.ce.float(), out.answer_logprobs.float(), grads))
    return [(a - b).abs().max().item() for a, b in zip(*results, strict=True)]


def kernels(device: torch.device, dtype: torch.dtype) -> list[str]:
    """The packed kernels that run (with a backward pass) on this device and dtype."""
    if device.type != "cuda":
        return ["padded"]  # FlexAttention has no backward on CPU
    half = dtype in (torch.bfloat16, torch.float16)
    return ["padded", "flex"] + (["flash"] if half and flash_available(device) else [])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    config = Qwen2Config(
        vocab_size=1000,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=3,
        num_attention_heads=8,
        num_key_value_heads=2,
        pad_token_id=0,
    )
    ok = True
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(0)
        with torch.device(args.device):
            model = AutoModelForCausalLM.from_config(
                config, dtype=dtype, attn_implementation="sdpa"
            ).train()
        for kernel in kernels(torch.device(args.device), dtype):
            ce, answers, grads = differences(model, groups(config.vocab_size), args.device, kernel)
            print(
                f"packing_check device={args.device} dtype={dtype} kernel={kernel} max|diff| "
                f"ce={ce:.2e} answer_logprobs={answers:.2e} grads={grads:.2e}"
            )
            if dtype == torch.float32:
                ok = ok and max(ce, answers, grads) < FP32_TOLERANCE
    print("packing_check", "ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
