"""Tokenisation and batching: the K rationales of one question travel in one batch.

Each sequence is `prompt | rationale body | "\\nThe answer is" | " <answer>" | "." + end`.
Loss falls on the assistant part only. The body alone is truncated to fit `max_seq_len`,
so the canonical final line (which the consistency loss reads) always survives. A question
whose prompt and answer alone do not fit is an error naming the longest one, raised before
training by `check_fits` (never skipped silently: dropping it would change the data the run
reports on); the studio runs the same check at submit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mind.config import ConfigError
from mind.curation import Example, canonical_line
from mind.errors import InputError
from mind.losses import IGNORE_INDEX
from mind.student_prompt import assistant_suffix, prompt_text

ANSWER_LEAD = "\nThe answer is"
SBS_PREFIXES = {"task:answer": "[answer] ", "task:rationale": "[rationale] "}


class PromptTooLong(InputError):
    """A prompt and answer that leave no room in `max_seq_len`; `tokens` is what they take."""

    def __init__(self, tokens: int, max_seq_len: int):
        super().__init__(
            f"prompt and answer alone take {tokens} tokens > max_seq_len={max_seq_len}"
        )
        self.tokens = tokens


@dataclass(frozen=True)
class Encoded:
    """One tokenised (question, rationale): ids, labels aligned for next-token loss."""

    input_ids: list[int]
    labels: list[int]  # labels[t] is the token predicted at position t, or IGNORE_INDEX
    answer_positions: list[int]  # positions whose prediction is an answer token


@dataclass(frozen=True)
class Group:
    """All encoded sequences of one question, by slot index."""

    example_index: int
    slots: dict[int, Encoded]


class ExampleTokenizer:
    """Turns examples into token ids with the student's chat template."""

    def __init__(self, tokenizer: Any, instruction: str, max_seq_len: int):
        self.tokenizer = tokenizer
        self.instruction = instruction
        self.max_seq_len = max_seq_len
        self.suffix = assistant_suffix(tokenizer)

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _fixed(
        self, question: str, has_body: bool, answer: str, task_prefix: str
    ) -> tuple[list[int], list[int], list[int], list[int]]:
        """The ids no truncation may cut: prompt, answer lead, answer, end of turn."""
        prompt = self._ids(prompt_text(self.tokenizer, question, self.instruction, task_prefix))
        lead = self._ids(ANSWER_LEAD if has_body else ANSWER_LEAD.lstrip("\n"))
        return prompt, lead, self._ids(f" {answer}"), self._ids("." + self.suffix)

    def encode(self, question: str, body: str, answer: str, task_prefix: str = "") -> Encoded:
        """Tokenise; `body` is the rationale without its canonical line (may be empty)."""
        prompt, lead, ans, end = self._fixed(question, bool(body), answer, task_prefix)
        room = self.max_seq_len - len(prompt) - len(lead) - len(ans) - len(end)
        if room < 0:
            raise PromptTooLong(self.max_seq_len - room, self.max_seq_len)
        body_ids = self._ids(body)[:room]
        target = body_ids + lead + ans + end
        ids = prompt + target
        # labels shifted left by one: position t predicts ids[t + 1]
        labels = [IGNORE_INDEX] * (len(prompt) - 1) + target + [IGNORE_INDEX]
        first = len(prompt) + len(body_ids) + len(lead)
        return Encoded(ids, labels, list(range(first - 1, first - 1 + len(ans))))

    def encode_example(
        self, index: int, example: Example, slot_names: list[str], sbs_tasks: bool = False
    ) -> Group:
        """Encode the slots of one example that the method trains on (sbs: its two tasks);
        PromptTooLong if one does not fit (`check_fits` says which question first)."""
        q = example.question
        return Group(
            index,
            {
                slot: self.encode(q.question, body, q.answer, prefix)
                for slot, (body, prefix) in _sequences(example, slot_names, sbs_tasks).items()
            },
        )

    def fixed_length(self, example: Example, slot_names: list[str], sbs_tasks: bool) -> int:
        """Tokens the example's longest sequence takes without its rationale body."""
        q = example.question
        sequences = _sequences(example, slot_names, sbs_tasks).values()
        return max(
            (
                sum(len(ids) for ids in self._fixed(q.question, bool(body), q.answer, prefix))
                for body, prefix in sequences
            ),
            default=0,
        )


def check_fits(
    encoder: ExampleTokenizer, examples: list[Example], slot_names: list[str], sbs_tasks: bool
) -> None:
    """ConfigError (`train.max_seq_len`) naming the longest question and its tokens when its
    prompt and answer alone do not fit; training calls it before encoding, the studio at
    submit. Only prompts and answers are tokenised, not the rationale bodies."""
    if not examples:
        return
    lengths = [encoder.fixed_length(e, slot_names, sbs_tasks) for e in examples]
    longest = max(range(len(examples)), key=lengths.__getitem__)
    if lengths[longest] <= encoder.max_seq_len:
        return
    over = sum(n > encoder.max_seq_len for n in lengths)
    raise ConfigError(
        "train.max_seq_len",
        f"the longest question, {examples[longest].question.id!r}, takes {lengths[longest]} "
        f"tokens with its prompt and answer alone, more than max_seq_len="
        f"{encoder.max_seq_len} ({over} of {len(examples)} questions do not fit); raise "
        f"train.max_seq_len to at least {lengths[longest]} or remove the questions",
    )


def _sequences(
    example: Example, slot_names: list[str], sbs_tasks: bool
) -> dict[int, tuple[str, str]]:
    """Slot index -> (rationale body, task prefix) of each sequence the example trains."""
    q = example.question
    if sbs_tasks:
        text = next(iter(example.rationales.values()))
        return {
            slot_names.index("task:answer"): ("", SBS_PREFIXES["task:answer"]),
            slot_names.index("task:rationale"): (
                _body(text, q.answer),
                SBS_PREFIXES["task:rationale"],
            ),
        }
    return {
        slot_names.index(p): (_body(text, q.answer), "")
        for p, text in example.rationales.items()
        if p in slot_names
    }


def _body(normalised: str, answer: str) -> str:
    line = canonical_line(answer)
    return normalised[: -len(line)].rstrip() if normalised.endswith(line) else normalised


@dataclass
class Batch:
    """A micro-batch of Q questions flattened into N sequences (only present slots).

    Padded layout: B = N rows of T tokens. Packed layout (`packed_layout`): B = 1 row holding
    all N sequences back to back, with `position_ids` restarting at 0 for each; nothing is
    padding. `offsets` locates each sequence in the flattened [B * T] positions either way.
    """

    input_ids: torch.Tensor  # [B, T]
    attention_mask: torch.Tensor  # [B, T]
    labels: torch.Tensor  # [B, T], aligned (see Encoded)
    offsets: torch.Tensor  # [N] flat index of each sequence's first token
    lengths: torch.Tensor  # [N] tokens per sequence
    answer_positions: torch.Tensor  # [N, A] within each sequence, padded with 0
    answer_mask: torch.Tensor  # [N, A]
    row: torch.Tensor  # [N] question index within the batch
    slot: torch.Tensor  # [N] slot index
    slot_mask: torch.Tensor  # [Q, P]
    example_index: list[int]
    position_ids: torch.Tensor | None = None  # [1, T], set only in the packed layout

    @property
    def tokens(self) -> int:
        return int(self.attention_mask.sum())

    def to(self, device: torch.device) -> Batch:
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
        return self


@dataclass(frozen=True)
class Layout:
    """The token tensors of one batch, padded or packed (see `Batch`)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    offsets: torch.Tensor
    position_ids: torch.Tensor | None = None


def padded_layout(seqs: list[Encoded], pad_id: int) -> Layout:
    """Right-pad every sequence to the longest one: [N, T]."""
    longest = max(len(e.input_ids) for e in seqs)
    ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), longest), dtype=torch.long)
    labels = torch.full((len(seqs), longest), IGNORE_INDEX, dtype=torch.long)
    for i, e in enumerate(seqs):
        t = len(e.input_ids)
        ids[i, :t] = torch.tensor(e.input_ids)
        attn[i, :t] = 1
        labels[i, :t] = torch.tensor(e.labels)
    return Layout(ids, attn, labels, torch.arange(len(seqs)) * longest)


def packed_layout(seqs: list[Encoded]) -> Layout:
    """Concatenate every sequence into one row [1, sum T], positions restarting at 0 each.

    No padding reaches the model; `mind.packing` keeps attention within each sequence.
    """
    lengths = torch.tensor([len(e.input_ids) for e in seqs])
    ids = torch.tensor([t for e in seqs for t in e.input_ids]).unsqueeze(0)
    labels = torch.tensor([t for e in seqs for t in e.labels]).unsqueeze(0)
    positions = torch.cat([torch.arange(n) for n in lengths.tolist()]).unsqueeze(0)
    offsets = lengths.cumsum(0) - lengths
    return Layout(ids, torch.ones_like(ids), labels, offsets, positions)


def collate(groups: list[Group], n_slots: int, pad_id: int, packed: bool = False) -> Batch:
    """All sequences of the given question groups in one batch, padded or packed."""
    seqs = [(r, s, enc) for r, g in enumerate(groups) for s, enc in sorted(g.slots.items())]
    encoded = [e for _, _, e in seqs]
    layout = packed_layout(encoded) if packed else padded_layout(encoded, pad_id)
    answer_len = max(len(e.answer_positions) for e in encoded)
    ans_pos = torch.zeros((len(seqs), answer_len), dtype=torch.long)
    ans_mask = torch.zeros((len(seqs), answer_len), dtype=torch.bool)
    slot_mask = torch.zeros((len(groups), n_slots), dtype=torch.bool)
    for i, (r, s, e) in enumerate(seqs):
        a = len(e.answer_positions)
        ans_pos[i, :a] = torch.tensor(e.answer_positions)
        ans_mask[i, :a] = True
        slot_mask[r, s] = True
    return Batch(
        input_ids=layout.input_ids,
        attention_mask=layout.attention_mask,
        labels=layout.labels,
        offsets=layout.offsets,
        lengths=torch.tensor([len(e.input_ids) for e in encoded]),
        answer_positions=ans_pos,
        answer_mask=ans_mask,
        row=torch.tensor([r for r, _, _ in seqs]),
        slot=torch.tensor([s for _, s, _ in seqs]),
        slot_mask=slot_mask,
        example_index=[g.example_index for g in groups],
        position_ids=layout.position_ids,
    )
