"""The quality experiment's design: which methods, perspectives, data and benchmarks."""

from __future__ import annotations

METHODS = ("zero_shot", "sft", "uniform", "mcc", "mind")
PERSPECTIVES = ["formal_symbolic", "decomposition", "planning", "other:standard_cot"]
TRAIN_SPLIT = "mcc-kd:train"
SFT_PERSPECTIVE = "other:standard_cot"
PREFER_TEACHERS = ["gpt-4"]  # the strongest teacher's rationale wherever it is correct
SUBSET_SEED = 0  # --train-questions draws its subset with this seed, whatever --seeds is
RATIONALES = "teacher_rationales/svamp_test.jsonl"
BENCHMARKS = {  # name: (source file under shared/, kind)
    "svamp": ("datasets/svamp/test.jsonl", "id"),
    "strategyqa": ("datasets/strategyqa/dev.jsonl", "ood"),
    "commonsenseqa": ("datasets/commonsenseqa/dev.jsonl", "ood"),
}
