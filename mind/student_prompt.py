"""The student's prompt: the bare question plus the training instruction, chat-formatted.

Training, evaluation and the latent analysis all build prompts here so that the student is
always asked the same way.
"""

from __future__ import annotations

from typing import Any

Messages = list[dict[str, str]]


def user_message(question: str, instruction: str, task_prefix: str = "") -> Messages:
    """The user turn; `task_prefix` is only used by distilling step-by-step's two tasks."""
    content = f"{task_prefix}{question}\n\n{instruction}" if instruction else task_prefix + question
    return [{"role": "user", "content": content}]


def prompt_text(tokenizer: Any, question: str, instruction: str, task_prefix: str = "") -> str:
    """Chat-formatted prompt ending where the assistant starts writing."""
    return tokenizer.apply_chat_template(
        user_message(question, instruction, task_prefix),
        tokenize=False,
        add_generation_prompt=True,
    )


def assistant_suffix(tokenizer: Any) -> str:
    """What the chat template writes after an assistant message (e.g. `<|im_end|>\\n`)."""
    marker = "\x00MIND\x00"
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
        tokenize=False,
    )
    return full[full.index(marker) + len(marker) :]
