"""The web tier's inference pool: a bounded number of generations at once and an LRU cache
of loaded models, created with the app and shared by the playground and the exports."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.settings import Settings

Weights = tuple[str, str | None]  # (model, adapter), as mind.student.load_for_inference


class InferencePool:
    def __init__(self, settings: Settings):
        self.device = settings.inference_device
        self.capacity = settings.inference_models
        self._slots = threading.BoundedSemaphore(settings.inference_concurrency)
        self._models: OrderedDict[Weights, tuple[Any, Any]] = OrderedDict()
        self._loading = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Blocks until one of the `inference_concurrency` slots is free."""
        with self._slots:
            yield

    def loading(self) -> threading.Lock:
        """Held while a model loads: other loads (and merged-export builds) wait."""
        return self._loading

    def acquire(self) -> None:
        """`slot()` for a stream that outlives the call: pair with `release()`."""
        self._slots.acquire()

    def release(self) -> None:
        self._slots.release()

    def model(self, weights: Weights, student: str) -> tuple[Any, Any]:
        """(model, tokenizer), loaded once per weights and kept while recently used.

        Loads happen one at a time: two threads importing transformers' lazy modules at
        once can fail, and on a CPU two loads are no faster than one after the other."""
        with self._loading:
            if weights in self._models:
                self._models.move_to_end(weights)
                return self._models[weights]
            loaded = self._load(weights, student)
            self._models[weights] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return loaded

    def _load(self, weights: Weights, student: str) -> tuple[Any, Any]:
        from mind.config import TrainConfig
        from mind.student import load_for_inference, load_tokenizer

        cfg = TrainConfig(finetune="full", device=self.device)
        return load_for_inference(weights[0], weights[1], cfg), load_tokenizer(student)
