"""A synthetic three-perspective task whose right curriculum is known (issue 11, item 4).

- `other:easy`: the same fixed sentence for every question, learnable at once.
- `other:late`: the easy sentence's words, each followed by a noise word drawn per question.
  Its noise half is irreducible, so its raw CE stays far above easy's for the whole run;
  its other half becomes predictable once the easy sentence is known and the student
  trains on it: a perspective to admit once the first is learned.
- `other:noise`: only words drawn at random from a large pool: never learnable beyond its
  word frequencies. A curriculum should keep it out once those are learned.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.tiny_model import tiny_llama

EASY_TEXT = "first we read the numbers then we add them and we write the total"
EASY = EASY_TEXT.split()
LATE_TEXT = "red blue green black white brown pink gold"
LATE_NOISE = LATE_TEXT.split()
NOISE_TEXT = (
    "apple river stone cloud tiger piano window garden silver engine castle ocean forest "
    "rocket pencil bridge candle desert island jacket ladder mirror needle orange pepper "
    "rabbit saddle tunnel valley wallet anchor basket cotton dragon feather hammer kettle "
    "lemon marble nickel paddle quartz ribbon spider timber velvet walnut yellow zipper "
    "banjo cactus dolphin falcon glacier harbor igloo jungle koala lantern meadow nectar"
)
NOISE_POOL = NOISE_TEXT.split()
PERSPECTIVES = ["other:easy", "other:late", "other:noise"]
ANSWER = "7"


def rationales_for(index: int) -> dict[str, str]:
    rng = random.Random(index)
    late = " ".join(f"{w} {rng.choice(LATE_NOISE)}" for w in EASY)
    noise = " ".join(rng.choice(NOISE_POOL) for _ in range(len(EASY)))
    return {"other:easy": " ".join(EASY), "other:late": late, "other:noise": noise}


def write_task(folder: Path, n_questions: int) -> tuple[Path, Path]:
    """questions.jsonl and rationales.jsonl in `folder`; every rationale judged correct."""
    questions, rationales = folder / "questions.jsonl", folder / "rationales.jsonl"
    q_lines, r_lines = [], []
    for i in range(n_questions):
        qid, text = f"syn-{i}", f"Task {i}: follow the recipe."
        q_lines.append(json.dumps({"id": qid, "question": text, "answer": ANSWER}))
        for perspective, rationale in rationales_for(i).items():
            record = {
                "id": qid,
                "perspective": perspective,
                "rationale": rationale,
                "question": text,
                "answer": ANSWER,
                "correct": True,
            }
            r_lines.append(json.dumps(record))
    questions.write_text("\n".join(q_lines) + "\n")
    rationales.write_text("\n".join(r_lines) + "\n")
    return questions, rationales


def pretrain_corpus(rng: random.Random, n: int) -> list[str]:
    """What the base student has read: the easy sentence, and each word pool in random order.

    So at the start its CE is low on `easy`, at the word-frequency floor on `noise` (nothing
    left to learn there), and between the two on `late`, whose interleaving is new.
    """
    texts = []
    for i in range(n):
        if i % 3 == 0:
            texts.append(EASY_TEXT)
        elif i % 3 == 1:
            texts.append(" ".join(rng.choice(NOISE_POOL) for _ in range(len(EASY))))
        else:
            texts.append(" ".join(rng.choice(LATE_NOISE) for _ in range(len(EASY))))
    return texts


def build_student(folder: Path, steps: int = 60) -> str:
    """A 2-layer random Llama with SmolLM2's tokenizer, briefly pre-trained on the corpus."""
    import torch

    model, tokenizer = tiny_llama(max_position_embeddings=256)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = random.Random(0)
    for _ in range(steps):
        batch = tokenizer(pretrain_corpus(rng, 12), return_tensors="pt", padding=True)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
