"""oneDNN-packed linear layers: the same values as `nn.Linear` up to fp32 rounding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mind.config import EvalConfig, TrainConfig
from mind.generation import generate, load_model
from mind.packed_linear import PackedLinear, can_pack, pack_linears
from mind.student import load_tokenizer

ROUNDING = 1e-5  # relative: fp32 sums over a few hundred terms in another order


@pytest.fixture(scope="module")
def chatty_student(tiny_student: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny student with an untied output layer, saved: its greedy outputs vary (a tied
    random model only repeats the prompt's last token)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_student, tie_word_embeddings=False)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("chatty")
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    load_tokenizer(tiny_student).save_pretrained(path)
    return str(path)


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    return bool((got - want).abs().max() <= ROUNDING * want.abs().max())


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch without oneDNN")
class TestPackedLinear:
    @pytest.mark.parametrize("bias", [True, False])
    def test_matches_linear_on_batched_and_strided_inputs(self, bias: bool) -> None:
        torch.manual_seed(0)
        linear = nn.Linear(48, 80, bias=bias)
        packed = PackedLinear(linear)
        for x in (torch.randn(3, 48), torch.randn(2, 5, 48), torch.randn(5, 2, 48).transpose(0, 1)):
            with torch.no_grad():
                assert _close(packed(x), linear(x))

    def test_every_linear_of_a_model_is_swapped(self, tiny_student: str) -> None:
        train = TrainConfig(device="cpu")
        plain = load_model(tiny_student, None, train, EvalConfig(engine="plain"))
        fast = load_model(tiny_student, None, train, EvalConfig(engine="fast"))
        assert not any(isinstance(m, PackedLinear) for m in plain.modules())
        assert not any(type(m) is nn.Linear for m in fast.modules())
        assert any(isinstance(m, PackedLinear) for m in fast.modules())
        ids = torch.randint(3, plain.config.vocab_size, (2, 7))
        with torch.no_grad():
            assert _close(fast(input_ids=ids).logits, plain(input_ids=ids).logits)

    def test_the_config_can_turn_it_off(self, tiny_student: str) -> None:
        off = EvalConfig(engine="fast", packed_linear=False)
        model = load_model(tiny_student, None, TrainConfig(device="cpu"), off)
        assert not any(isinstance(m, PackedLinear) for m in model.modules())

    def test_greedy_text_unchanged(self, chatty_student: str, shared: Path) -> None:
        """The fast engine on packed layers writes what plain generate writes."""
        from mind.data import read_questions
        from mind.student_prompt import prompt_text

        tokenizer = load_tokenizer(chatty_student)
        questions = read_questions(shared / "datasets" / "svamp" / "test.jsonl")[:5]
        prompts = [prompt_text(tokenizer, q.question, "Think step by step.") for q in questions]
        train = TrainConfig(device="cpu")
        texts = {}
        for engine in ("plain", "fast"):
            cfg = EvalConfig(engine=engine, max_new_tokens=12, batch_size=5)
            model = load_model(chatty_student, None, train, cfg)
            texts[engine] = [c.text for c in generate(model, tokenizer, prompts, cfg)]
        assert texts["fast"] == texts["plain"]
        assert all(texts["fast"]) and len(set(texts["fast"])) == len(prompts), "non-trivial"

    def test_refuses_what_it_cannot_pack(self) -> None:
        model = nn.Sequential(nn.Linear(4, 4)).to(torch.bfloat16)
        assert not can_pack(model)
        with pytest.raises(ValueError, match="fp32 model on a CPU"):
            pack_linears(model)
