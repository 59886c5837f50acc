"""The `vllm` evaluation engine: the student (and its LoRA adapter) served by vLLM.

For GPU hosts with the `vllm` extra installed (`pip install 'mind-studio[vllm]'`); nothing
else imports vLLM. Decoding is greedy like the other engines (`mind.generation`); prompts go
in as token ids, so the chat template's special tokens are not added twice. Not exercised by
the test suite: vLLM needs a GPU and is not installed on CPU hosts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mind.student import resolve_student


class VllmStudent:
    """A vLLM engine for one student; LoRA adapters are applied per request, not merged."""

    def __init__(self, name: str, adapter: str | None, cfg: Any):
        """`cfg` is the run's TrainConfig; its dtype names ('float32', 'bfloat16', 'float16',
        'auto') are also vLLM's. Raises RuntimeError when vLLM is not installed."""
        try:
            from vllm import LLM
        except ImportError as exc:
            raise RuntimeError(
                "eval.engine 'vllm' needs vLLM: pip install 'mind-studio[vllm]' on a GPU host"
            ) from exc
        self.adapter = adapter
        lora: dict[str, Any] = {}
        if adapter is not None:
            rank = json.loads((Path(adapter) / "adapter_config.json").read_text())["r"]
            lora = {"enable_lora": True, "max_lora_rank": rank, "max_loras": 1}
        self.llm = LLM(model=resolve_student(name), dtype=cfg.dtype, seed=0, **lora)

    def generate(
        self, prompts: list[str], max_new_tokens: int, progress: Callable[[int], None] | None
    ) -> list[tuple[str, bool]]:
        """(text, ran out of tokens) per prompt, in order; `progress` is told once, at the
        end. Running out is vLLM's finish reason "length" (not "stop": EOS)."""
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        tokenizer = self.llm.get_tokenizer()
        requests = [
            {"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]}
            for p in prompts
        ]
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        lora = LoRARequest("student", 1, self.adapter) if self.adapter else None
        results = self.llm.generate(requests, params, lora_request=lora, use_tqdm=False)
        if progress is not None:
            progress(len(prompts))
        return [(r.outputs[0].text, r.outputs[0].finish_reason == "length") for r in results]
