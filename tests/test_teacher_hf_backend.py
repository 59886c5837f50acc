"""The local transformers backend, with the tiny random student as teacher."""

from __future__ import annotations

import pytest
import torch
from openai_server import lively_copy

from mind.config import TeacherConfig, TrainConfig
from mind.teacher.backend import Request, Sampling
from mind.teacher.hf_backend import HFBackend


@pytest.fixture(scope="module")
def teacher(tiny_student: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return lively_copy(tiny_student, tmp_path_factory.mktemp("tiny-teacher"))


def chats(n: int) -> list[Request]:
    """Prompts of clearly different lengths, so a batch needs padding."""
    return [
        Request(f"k{i}", [{"role": "user", "content": "How many apples? " * (1 + 4 * i)}])
        for i in range(n)
    ]


def make(model: str, batch_size: int, sampling: Sampling) -> HFBackend:
    cfg = TeacherConfig(backend="hf", model=model, batch_size=batch_size)
    return HFBackend(cfg, TrainConfig(device="cpu"), sampling)


class TestHFBackend:
    def test_batched_greedy_equals_one_at_a_time(self, teacher):
        """Left padding must not change what a prompt generates: a batch of mixed lengths
        gives the same texts as generating each prompt alone."""
        greedy = Sampling(temperature=0.0, max_tokens=8, seed=0)
        batched = {r.key: r.text for r in make(teacher, 3, greedy).generate(chats(3))}
        single = {r.key: r.text for r in make(teacher, 1, greedy).generate(chats(3))}
        assert batched == single
        assert len(set(batched.values())) == 3  # the prompts really got different answers

    def test_results_come_per_batch_with_shared_time(self, teacher):
        """Results of one batch share its wall time equally."""
        greedy = Sampling(temperature=0.0, max_tokens=4, seed=0)
        results = list(make(teacher, 2, greedy).generate(chats(3)))
        assert [r.key for r in results] == ["k0", "k1", "k2"]
        assert results[0].elapsed_s == results[1].elapsed_s != results[2].elapsed_s

    @pytest.mark.parametrize("seed", [0, 1])
    def test_sampling_is_seeded_and_leaves_global_rng_alone(self, teacher, seed):
        """Temperature > 0 samples from its own seeded RNG: same seed, same texts, and
        the caller's torch RNG state is untouched."""
        hot = Sampling(temperature=1.0, max_tokens=8, seed=seed)
        backend = make(teacher, 2, hot)
        before = torch.get_rng_state()
        first = [r.text for r in backend.generate(chats(2))]
        assert torch.equal(before, torch.get_rng_state())
        assert first == [r.text for r in backend.generate(chats(2))]
