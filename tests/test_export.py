"""Exports load in a fresh Python process with only transformers and peft, and answer a
question exactly as the studio does; the model card tells what the run was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mind.config import RunConfig
from mind.export import (
    CardFacts,
    Evaluation,
    render_card,
    summarise_perspectives,
    wilson,
    write_adapter,
    write_merged,
)
from mind.licences import file_licences
from mind.step_record import PerspectiveStats

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"
NEW_TOKENS = 12

FRESH = """
import json, sys
from transformers import AutoModelForCausalLM, AutoTokenizer
kind, folder, base, instruction, question = sys.argv[1:6]
tokenizer = AutoTokenizer.from_pretrained(folder)
if kind == "merged":
    model = AutoModelForCausalLM.from_pretrained(folder)
else:
    from peft import PeftModel
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), folder)
    model = model.merge_and_unload()
messages = [{"role": "user", "content": question + "\\n\\n" + instruction}]
inputs = tokenizer.apply_chat_template(
    messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
)
out = model.generate(**inputs, max_new_tokens=NEW_TOKENS)
text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
studio = sorted(m for m in sys.modules if m.split(".")[0] in ("mind", "app", "worker"))
print(json.dumps({"text": text.strip(), "studio_modules": studio}))
""".replace("NEW_TOKENS", str(NEW_TOKENS))


@pytest.fixture(scope="module")
def trained(tiny_student: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) weights: merged, it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_student)
    lora = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    path = tmp_path_factory.mktemp("run") / "adapter"
    get_peft_model(base, lora).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def facts(tiny_student: str) -> CardFacts:
    config = RunConfig.model_validate(
        {"student": tiny_student, "method": "mind", "eval": {"max_new_tokens": NEW_TOKENS}}
    )
    return CardFacts(
        name="tiny mind",
        config=config,
        step=3,
        status="succeeded",
        perspectives=summarise_perspectives(
            {
                2: {"formal_symbolic": PerspectiveStats(weight=0.7, selected=1.0, present=2)},
                3: {
                    "formal_symbolic": PerspectiveStats(weight=0.5, selected=0.5, present=2),
                    "decomposition": PerspectiveStats(weight=0.39, selected=0.0, present=1),
                },
            }
        ),
        datasets=[
            {
                "name": "svamp-rationales",
                "role": "rationales",
                "rows": 20,
                "licences": {"homzer/MCC-KD": {"licence": "none stated", "records": 20}},
            }
        ],
        evaluations=[Evaluation("svamp", "id", 10, 0.5, 0.2)],
        run_id="r1",
    )


def studio_answer(model_ref: tuple[str, str | None], student: str, instruction: str) -> str:
    """What the studio's evaluation generates for QUESTION (greedy)."""
    from mind.config import EvalConfig, TrainConfig
    from mind.generation import generate
    from mind.student import load_for_inference, load_tokenizer
    from mind.student_prompt import prompt_text

    model = load_for_inference(*model_ref, TrainConfig(finetune="full", device="cpu"))
    tokenizer = load_tokenizer(student)
    prompt = prompt_text(tokenizer, QUESTION, instruction)
    cfg = EvalConfig(max_new_tokens=NEW_TOKENS, batch_size=1, stop_at_answer=False)
    return generate(model, tokenizer, [prompt], cfg)[0].text


def fresh_answer(kind: str, folder: Path, base: str, instruction: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", FRESH, kind, str(folder), base, instruction, QUESTION],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder.parent,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class TestExports:
    def test_merged_and_adapter_answer_like_the_studio_in_a_fresh_process(
        self, trained: Path, facts: CardFacts, tiny_student: str, tmp_path: Path
    ):
        instruction = facts.config.train.instruction
        expected = studio_answer((tiny_student, str(trained)), tiny_student, instruction)
        base_answer = studio_answer((tiny_student, None), tiny_student, instruction)
        assert expected and expected != base_answer, "the adapter must change the answer"

        merged = write_merged((tiny_student, str(trained)), tmp_path / "merged", facts)
        assert (merged / "model.safetensors").is_file()
        assert (merged / "tokenizer.json").is_file()
        got = fresh_answer("merged", merged, "", instruction)
        assert got["studio_modules"] == []
        assert got["text"] == expected

        adapter = write_adapter(trained, tmp_path / "adapter", facts)
        got = fresh_answer("adapter", adapter, tiny_student, instruction)
        assert got["text"] == expected

    def test_the_adapter_names_its_base_portably_and_carries_a_card(
        self, trained: Path, facts: CardFacts, tmp_path: Path
    ):
        adapter = write_adapter(trained, tmp_path / "adapter", facts)
        base = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
        assert base == Path(facts.config.student).name
        card = (adapter / "README.md").read_text()
        assert "[More Information Needed]" not in card
        assert facts.config.student not in card, "a server path leaked into the card"
        assert not list(tmp_path.glob("*.tmp"))

    def test_a_bundled_base_keeps_its_bundled_name(self, trained: Path, facts, tmp_path: Path):
        bundled = CardFacts(**{**facts.__dict__, "config": RunConfig()})
        adapter = write_adapter(trained, tmp_path / "adapter", bundled)
        config = json.loads((adapter / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == "smollm2-135m-instruct"
        assert "HuggingFaceTB/SmolLM2-135M-Instruct" in (adapter / "README.md").read_text()


class TestCard:
    def test_the_card_reports_method_weights_licences_and_intervals(self, facts: CardFacts):
        card = render_card(facts, "merged")
        assert "**mind** method" in card
        assert "| formal_symbolic | 0.600 | 75.0% | 2 | 0.500 |" in card
        assert "| decomposition | 0.390 | 0.0% | 1 | 0.390 |" in card
        assert "homzer/MCC-KD: none stated (20 records)" in card
        low, high = wilson(5, 10)
        assert f"| svamp | ID | 10 | 50.0% | {low:.1%}–{high:.1%} | 20.0% |" in card
        assert "## Limitations" in card
        assert "step 3" in card

    def test_wilson_interval_of_half_of_ten(self):
        assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
        assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)

    def test_licences_are_read_from_the_rationale_sources(self, shared: Path, tmp_path: Path):
        lines = (shared / "teacher_rationales/svamp_test.jsonl").read_text().splitlines()
        sample = tmp_path / "r.jsonl"
        sample.write_text("\n".join(lines[:400]) + "\n")
        licences = file_licences(sample)
        assert licences["veronica320/Faithful-COT"]["licence"] == "MIT"
        assert sum(v["records"] for v in licences.values()) == 400
        assert all("unknown" not in v["licence"] for v in licences.values()), licences
