"""Learning curves: every kept checkpoint scored on a fixed in-distribution subset.

The subset is the first `eval.curve_questions` questions of the first `id` benchmark; the
curve's points are the checkpoints training kept (`train.save_every`,
`train.keep_checkpoints`). Written to `curve.json` and reported as result `curve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mind import checkpoint
from mind.config import RunConfig
from mind.reporter import Reporter


def _model_ref(config: RunConfig, path: Path) -> tuple[str, str | None]:
    adapter = path / "adapter"
    return (config.student, str(adapter)) if adapter.exists() else (str(path / "model"), None)


def learning_curve(config: RunConfig, out_dir: Path, reporter: Reporter) -> dict[str, Any] | None:
    """{benchmark, n, points: [{step, accuracy}]}, or None when off or nothing to score."""
    from mind.evaluate import load_benchmark
    from mind.generation import generate, load_model
    from mind.scoring import score
    from mind.student import load_tokenizer
    from mind.student_prompt import prompt_text

    bench = next((b for b in config.eval.benchmarks if b.kind == "id"), None)
    paths = checkpoint.list_checkpoints(out_dir / "checkpoints")
    if not config.eval.curve_questions or bench is None or not paths:
        return None
    questions = load_benchmark(bench)[: config.eval.curve_questions]
    tokenizer = load_tokenizer(config.student)
    inference = config.train.model_copy(update={"finetune": "full"})
    prompts = [prompt_text(tokenizer, q.question, config.train.instruction) for q in questions]
    points = []
    for i, path in enumerate(paths):
        reporter.progress("evaluating", i / len(paths))
        model = load_model(*_model_ref(config, path), inference, config.eval)
        outputs = generate(model, tokenizer, prompts, config.eval)
        _, accuracy, _ = score(
            questions, [c.text for c in outputs], truncated=[c.truncated for c in outputs]
        )
        points.append({"step": checkpoint.read_manifest(path)["step"], "accuracy": accuracy})
    curve = {"benchmark": bench.name, "n": len(questions), "points": points}
    (out_dir / "curve.json").write_text(json.dumps(curve, indent=2) + "\n")
    reporter.result("curve", curve)
    return curve
