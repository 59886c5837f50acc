"""Greedy generation for evaluation: prompts in, completions out, in the prompts' order.

Three engines, chosen by `eval.engine` (`mind.config.EvalConfig`):

- `fast` (default): prompts sorted by length into batches, each batch decoded by our own
  greedy loop over a KV cache that drops every row the moment it is finished (EOS, or its
  final answer line is complete), so finished rows cost nothing while the rest go on. The
  cache is reserved for the whole answer up front (`mind.kv_cache`: no per-step copy), the
  prompts are prefilled in sub-batches of similar length, and on a CPU the model's linear
  layers run on oneDNN with prepacked weights (`eval.packed_linear`, set up by
  `load_model`). With
  `eval.compile` it instead runs transformers' `generate` with a static KV cache and a
  compiled decoding step (the GPU path: CUDA graphs remove the per-token launch cost; on
  CPU, compiling did not pay, see docs/benchmarks.md), keeping the sorting and the stop.
- `plain`: `model.generate` over the batches in input order; the reference the others are
  tested and benchmarked against.
- `vllm`: `mind.vllm_backend`, for GPU hosts with the `vllm` extra installed.

All engines decode greedily, so for the same prompts they agree token for token up to where
`fast` stops; with `eval.stop_at_answer` every output is cut after its first complete
final-answer line (`ANSWER_LINE`), whichever engine wrote it, so all engines return the same
text. Each also says whether an output was cut off (`Completion.truncated`): the token ids
show it for `fast` and `plain`, vLLM's finish reason for `vllm`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import torch
from transformers import DynamicCache, StoppingCriteria, StoppingCriteriaList

from mind.config import EvalConfig
from mind.kv_cache import all_reserved, copies, place, reserved_cache

ANSWER_LINE = re.compile(r"\bthe (?:final )?answer is\b:?[ \t]*[^\s:][^\n]*\n", re.IGNORECASE)

Progress = Callable[[int], None]

# Prompts per prefill forward in the fast engine: length-sorted, so a sub-batch pads little,
# and still enough tokens (rows x prompt length) for the matmuls to run at full speed.
PREFILL_ROWS = 16


@dataclass(frozen=True)
class Completion:
    """One prompt's greedy output.

    `truncated`: decoding stopped at `max_new_tokens`, before EOS and before a complete
    final-answer line, so an answer read from `text` is a fragment (a list cut at "6. 1"
    would read as 1); evaluation scores such an output as wrong.
    """

    text: str
    truncated: bool


def completion(text: str, cut: bool) -> Completion:
    """`text` as an engine wrote it; `cut`: it ran out of new tokens without an EOS."""
    return Completion(text, cut and ANSWER_LINE.search(text) is None)


def ran_out(tokens: Sequence[int], max_new_tokens: int, eos: Sequence[int]) -> bool:
    """Whether a row's new tokens fill the budget with no EOS among them. Padding after a
    finished row does not count: such a row holds its EOS or its complete answer line."""
    return len(tokens) >= max_new_tokens and not set(eos).intersection(tokens)


def eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Stop at the tokenizer's EOS (the chat turn end) and at any the model config names."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [tokenizer.eos_token_id, *ids] if i is not None})


def truncate_at_answer(text: str) -> str:
    """`text` up to the end of its first complete final-answer line (whole if none)."""
    match = ANSWER_LINE.search(text)
    return text[: match.end()] if match else text


@cache
def _newline_tokens(tokenizer: Any) -> frozenset[int]:
    """Ids whose text holds a newline: only these can complete an answer line."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    texts = [tokenizer.convert_tokens_to_string([p]) if p else "" for p in pieces]
    return frozenset(i for i, text in enumerate(texts) if "\n" in text)


class AnswerStop:
    """Says when a row's completion holds a complete final-answer line.

    Decoding a row's text is needed only when its newest token holds a newline, so the check
    costs one set lookup per token otherwise.
    """

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.newlines = _newline_tokens(tokenizer)

    def done(self, tokens: Sequence[int]) -> bool:
        if not tokens or tokens[-1] not in self.newlines:
            return False
        return (
            ANSWER_LINE.search(self.tokenizer.decode(tokens, skip_special_tokens=True)) is not None
        )


class AnswerStoppingCriteria(StoppingCriteria):
    """`AnswerStop` for transformers' `generate`: [B] bool, True for finished rows."""

    def __init__(self, stop: AnswerStop, prompt_len: int):
        self.stop, self.prompt_len = stop, prompt_len

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        rows = input_ids[:, self.prompt_len :].tolist()
        return torch.tensor([self.stop.done(r) for r in rows], device=input_ids.device)


def _left_padded(rows: list[list[int]], pad_id: int, device: Any) -> dict[str, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids that count real tokens only, as `generate` does: [B, T] -> [B, T]."""
    return (mask.cumsum(-1) - 1).clamp_min(0)


def _shared_prefix(rows: list[list[int]]) -> int:
    """How many tokens every prompt starts with (the chat template's system turn, say),
    leaving each prompt at least one of its own; 0 for a single prompt."""
    if len(rows) < 2:
        return 0
    shortest = min(len(r) for r in rows)
    columns = enumerate(zip(*rows, strict=False))  # stops at the shortest prompt
    same = next((i for i, column in columns if len(set(column)) > 1), shortest)
    return min(same, shortest - 1)


def _layout(rows: list[list[int]], shared: int, pad_id: int, device: Any) -> dict:
    """The batch laid out: `input_ids` [B, w], each prompt's own tokens (after the `shared`
    prefix) left-padded, and `attention_mask` [B, shared + w]: the prefix first, then each
    prompt's own tokens right-aligned, padding (0) between."""
    own = _left_padded([r[shared:] for r in rows], pad_id, device)
    mask = own["attention_mask"]
    return {
        "input_ids": own["input_ids"],
        "attention_mask": torch.cat([mask.new_ones(len(rows), shared), mask], dim=1),
    }


def _prefill(
    model: Any, rows: list[list[int]], cache_: Any, shared: int, pad_id: int
) -> torch.Tensor:
    """Run the prompts through `model` into `cache_`, laid out as `_layout` says; the last
    position's logits [B, V].

    With a reserved cache the `shared` prefix is computed once and copied to every row, and
    the rest goes in sub-batches of `PREFILL_ROWS` (prompts arrive sorted longest first), each
    padded only to its own longest prompt: no compute is spent on padding or on the prefix
    twice. Otherwise (layers transformers' own, e.g. sliding windows) one left-padded forward.
    """
    if not all_reserved(cache_):
        batch = _left_padded(rows, pad_id, model.device)
        positions = _positions(batch["attention_mask"])
        out = model(**batch, position_ids=positions, past_key_values=cache_, logits_to_keep=1)
        return out.logits[:, -1]
    prefix = DynamicCache(config=model.config)
    if shared:
        model(
            input_ids=torch.tensor([rows[0][:shared]], device=model.device), past_key_values=prefix
        )
    width = max(len(r) for r in rows)
    logits = []
    for start in range(0, len(rows), PREFILL_ROWS):
        part = rows[start : start + PREFILL_ROWS]
        batch = _layout(part, shared, pad_id, model.device)
        mask = batch["attention_mask"]
        whole = not shared and len(part) == len(rows)  # laid out as the batch: fill in place
        if whole:
            target = cache_
        elif shared:
            target = copies(prefix, len(part), model.config)
        else:
            target = DynamicCache(config=model.config)
        out = model(
            input_ids=batch["input_ids"],
            attention_mask=mask,
            position_ids=_positions(mask)[:, shared:],
            past_key_values=target,
            logits_to_keep=1,
        )
        if not whole:
            place(cache_, target, slice(start, start + len(part)), len(rows), width, shared)
        logits.append(out.logits[:, -1])
    return torch.cat(logits)


@torch.no_grad()
def greedy_batch(
    model: Any,
    rows: list[list[int]],
    max_new_tokens: int,
    pad_id: int,
    eos: Sequence[int],
    stop: AnswerStop | None,
) -> list[list[int]]:
    """Greedy new tokens for each prompt row (EOS included), finished rows dropped as they end.

    Rows are padded on the left of their own tokens (after a prefix they all share, see
    `_layout`); positions count real tokens only, as `generate` does, so a row's tokens do
    not depend on its batch mates beyond floating-point rounding. The KV cache is reserved
    for the whole answer up front (`mind.kv_cache`).
    """
    cache_ = reserved_cache(model.config, max(len(r) for r in rows) + max_new_tokens)
    shared = _shared_prefix(rows) if all_reserved(cache_) else 0
    mask = _layout(rows, shared, pad_id, model.device)["attention_mask"]
    positions = _positions(mask)
    logits = _prefill(model, rows, cache_, shared, pad_id)
    new: list[list[int]] = [[] for _ in rows]
    alive = list(range(len(rows)))  # prompt row of each batch row
    eos_set = set(eos)
    for step in range(max_new_tokens):
        tokens = logits.argmax(-1)
        keep = []
        for b, (row, token) in enumerate(zip(alive, tokens.tolist(), strict=True)):
            new[row].append(token)
            if token not in eos_set and (stop is None or not stop.done(new[row])):
                keep.append(b)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(alive):
            index = torch.tensor(keep, device=mask.device)
            cache_.batch_select_indices(index)
            alive, mask, positions, tokens = (
                [alive[b] for b in keep],
                mask[index],
                positions[index],
                tokens[index],
            )
        mask = torch.cat([mask, mask.new_ones(len(alive), 1)], dim=1)
        positions = positions[:, -1:] + 1
        logits = model(
            input_ids=tokens.unsqueeze(1),
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache_,
        ).logits[:, -1]
    return new


def _compiled_batch(
    model: Any, rows: list[list[int]], cfg: EvalConfig, pad_id: int, eos: list[int], stop: Any
) -> list[list[int]]:
    """`generate` with a static KV cache and a compiled decoding step (see module doc)."""
    from transformers import CompileConfig

    batch = _left_padded(rows, pad_id, model.device)
    criteria = StoppingCriteriaList()
    if stop is not None:
        criteria.append(AnswerStoppingCriteria(stop, batch["input_ids"].shape[1]))
    generated = model.generate(
        **batch,
        max_new_tokens=cfg.max_new_tokens,
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=pad_id,
        cache_implementation="static",
        compile_config=CompileConfig(_compile_all_devices=True),
        stopping_criteria=criteria,
    )  # (B, T_prompt + T_new)
    return generated[:, batch["input_ids"].shape[1] :].tolist()


def fast_generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    cfg: EvalConfig,
    progress: Progress | None = None,
) -> list[Completion]:
    """Completions for `prompts`, in order, with the `fast` engine (see module doc)."""
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
    eos, pad_id = eos_ids(model, tokenizer), tokenizer.pad_token_id
    stop = AnswerStop(tokenizer) if cfg.stop_at_answer else None
    outputs = [Completion("", False)] * len(prompts)
    for chunk in _chunks(order, cfg.batch_size):
        rows = [ids[i] for i in chunk]
        if cfg.compile:
            new = _compiled_batch(model, rows, cfg, pad_id, eos, stop)
        else:
            new = greedy_batch(model, rows, cfg.max_new_tokens, pad_id, eos, stop)
        for i, tokens in zip(chunk, new, strict=True):
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            outputs[i] = completion(text, ran_out(tokens, cfg.max_new_tokens, eos))
        if progress is not None:
            progress(len(chunk))
    return outputs


@torch.no_grad()
def plain_generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    cfg: EvalConfig,
    progress: Progress | None = None,
) -> list[Completion]:
    """Completions for `prompts` from `model.generate`, batches in input order."""
    eos = eos_ids(model, tokenizer)
    outputs: list[Completion] = []
    for start in range(0, len(prompts), cfg.batch_size):
        chunk = prompts[start : start + cfg.batch_size]
        batch = tokenizer(
            chunk, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        ).to(model.device)
        generated = model.generate(
            **batch,
            max_new_tokens=cfg.max_new_tokens,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id,
        )  # (B, T_prompt + T_new)
        new_tokens = generated[:, batch["input_ids"].shape[1] :].tolist()
        texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        outputs += [
            completion(text, ran_out(tokens, cfg.max_new_tokens, eos))
            for text, tokens in zip(texts, new_tokens, strict=True)
        ]
        if progress is not None:
            progress(len(chunk))
    return outputs


def generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    cfg: EvalConfig,
    progress: Progress | None = None,
) -> list[Completion]:
    """Greedy completions with `cfg.engine`, stripped, cut after the answer line if asked
    (which never changes `truncated`: an output holding that line is not truncated).

    `progress(n)` is called after every batch with the number of prompts it finished.
    """
    if cfg.engine == "vllm":
        from mind.vllm_backend import VllmStudent

        if not isinstance(model, VllmStudent):
            raise TypeError("eval.engine 'vllm' needs the model from mind.generation.load_model")
        outputs = [
            completion(text, cut)
            for text, cut in model.generate(prompts, cfg.max_new_tokens, progress)
        ]
    else:
        engine = fast_generate if cfg.engine == "fast" else plain_generate
        outputs = engine(model, tokenizer, prompts, cfg, progress)
    if cfg.stop_at_answer:
        outputs = [replace(c, text=truncate_at_answer(c.text)) for c in outputs]
    return [replace(c, text=c.text.strip()) for c in outputs]


def load_model(name: str, adapter: str | None, cfg: Any, eval_cfg: EvalConfig) -> Any:
    """The model `generate` runs: a frozen transformers student, or a vLLM engine.

    `cfg` is the run's `TrainConfig` (device and dtype of the transformers model). For the
    `fast` engine on a CPU its linear layers are packed for oneDNN (`eval.packed_linear`,
    `mind.packed_linear`), so the model is for generation only.
    """
    if eval_cfg.engine == "vllm":
        from mind.vllm_backend import VllmStudent

        return VllmStudent(name, adapter, cfg)
    from mind.packed_linear import can_pack, pack_linears
    from mind.student import load_for_inference

    model = load_for_inference(name, adapter, cfg)
    if _packs(eval_cfg) and can_pack(model):
        pack_linears(model)
    return model


def _packs(eval_cfg: EvalConfig) -> bool:
    """Whether `eval_cfg` asks for oneDNN-packed linear layers (`eval.packed_linear`)."""
    return eval_cfg.engine == "fast" and eval_cfg.packed_linear and not eval_cfg.compile
