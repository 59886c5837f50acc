"""The teacher backend a run config names; each backend's heavy imports happen only here."""

from __future__ import annotations

from mind.config import ConfigError, RunConfig
from mind.teacher.backend import Sampling, TeacherBackend


def make_backend(config: RunConfig) -> TeacherBackend:
    """The backend named by `config.teacher.backend`; heavy imports happen only here."""
    cfg = config.teacher
    if cfg is None:
        raise ConfigError("teacher", "the run config has no teacher section")
    sampling = Sampling.from_config(cfg, config.seed)
    if cfg.backend == "hf":
        from mind.teacher.hf_backend import HFBackend

        return HFBackend(cfg, config.train, sampling)
    from mind.teacher.openai_backend import OpenAIBackend

    return OpenAIBackend(cfg, sampling)
