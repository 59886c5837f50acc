"""Licences of the shared data, so a model card can say what its training data allows.

Sources as `shared/teacher_rationales/README.md` and `shared/datasets/README.md` list them;
anything not listed is reported as unknown rather than guessed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mind.readers import iter_records

UNKNOWN = "unknown (not in the studio's licence table: check before redistributing)"
NONE_STATED = "none stated: local research use only, do not redistribute"

# `owner/repo` of a rationale record's `source` -> licence.
RATIONALE_SOURCES: dict[str, str] = {
    "veronica320/Faithful-COT": "MIT",
    "TIGER-AI-Lab/Program-of-Thoughts": "MIT",
    "AGI-Edgerunners/Plan-and-Solve-Prompting": NONE_STATED,
    "kojima-takeshi188/zero_shot_cot": NONE_STATED,
    "openai/grade-school-math": "MIT",
    "homzer/MCC-KD": NONE_STATED,
    "huypham1103/distilling-step-by-step": "Apache-2.0 (inherited from upstream)",
    "maxh119Z/distilling-step-by-step1": "Apache-2.0 (inherited from upstream)",
}

# A record's `dataset` field -> licence of the questions.
DATASETS: dict[str, str] = {
    "gsm8k": "MIT",
    "svamp": "MIT",
    "commonsenseqa": "MIT (HF card); CoS-E BSD-3-Clause",
    "strategyqa": "MIT (authors' repo)",
}


def source_repo(source: str) -> str:
    """`owner/repo@commit:path` -> `owner/repo`."""
    return source.split("@", 1)[0].split(":", 1)[0]


def file_licences(path: str | Path) -> dict[str, dict[str, int | str]]:
    """{origin: {"licence", "records"}} of a JSONL file, by `source` repo or `dataset` name.

    Records without either are counted under `unlabelled`."""
    counts: Counter[str] = Counter()
    for _, record in iter_records(path):
        source = record.get("source")
        dataset = record.get("dataset")
        if isinstance(source, str) and source:
            counts[source_repo(source)] += 1
        elif isinstance(dataset, str) and dataset:
            counts[dataset] += 1
        else:
            counts["unlabelled"] += 1
    return {
        origin: {"licence": licence_of(origin), "records": n}
        for origin, n in sorted(counts.items())
    }


def licence_of(origin: str) -> str:
    return RATIONALE_SOURCES.get(origin) or DATASETS.get(origin) or UNKNOWN
