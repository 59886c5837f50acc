"""Run configuration: every default of the method spec is a named, validated field.

`load_config` reads YAML/JSON, fills in every default and raises `ConfigError` naming the
offending key (e.g. `train.max_steps`) before anything heavy is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mind.errors import MindError

Method = Literal["zero_shot", "sft", "sbs", "uniform", "mcc", "mind", "specialist"]

DEFAULT_INSTRUCTION = (
    "Solve the problem. Think step by step, then finish with a final line of the form "
    "'The answer is <answer>.'"
)


class ConfigError(MindError, ValueError):
    """A configuration problem, with the dotted key it concerns."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CustomPerspective(Section):
    id: str = Field(min_length=1, description="Unique id, e.g. 'visual'.")
    name: str = Field(min_length=1)
    instruction: str = Field(min_length=1, description="What the teacher is asked to do.")


class DataConfig(Section):
    questions: str | None = Field(None, description="Questions JSONL (datasets schema).")
    rationales: str | None = Field(None, description="Rationales JSONL (teacher schema).")
    max_questions: int | None = Field(None, gt=0, description="Keep the first N usable ones.")
    only_correct: bool = Field(True, description="Drop rationales the judge marks wrong.")
    pick: Literal["first", "shortest", "longest", "random"] = Field(
        "first", description="Rule for one rationale per (question, perspective)."
    )
    prefer_teachers: list[str] = Field(
        default_factory=list, description="Teachers tried first, in order, before `pick`."
    )
    downsample_easy: bool = Field(True, description="Difficulty-aware down-sampling.")
    easy_keep_fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="Fraction of easy questions kept."
    )
    min_perspectives: int = Field(2, ge=1, description="Accepted rationales a question needs.")
    source_split: str | None = Field(
        None, description="Keep only questions with a rationale of this `source_split`."
    )
    exclude_source_split: str | None = Field(
        None, description="Drop questions with a rationale of this `source_split`."
    )


class TrainConfig(Section):
    max_steps: int = Field(100, gt=0, description="Optimizer steps, MIND warm-up included.")
    questions_per_batch: int = Field(2, gt=0, description="Questions per micro-batch.")
    grad_accum: int = Field(1, gt=0, description="Micro-batches per student step.")
    max_seq_len: int = Field(512, ge=32, description="Tokens per sequence (prompt included).")
    packing: bool = Field(
        True, description="Concatenate a batch's sequences into one row (no padding)."
    )
    packed_attention: Literal["auto", "flex", "flash", "padded"] = Field(
        "auto",
        description="Kernel for packed rows: flex (FlexAttention block mask), flash "
        "(flash-attn varlen), padded (SDPA on a padded view); auto: flash, else flex on "
        "CUDA, padded on CPU.",
    )
    lr: float = Field(2e-4, gt=0, description="Student learning rate (AdamW).")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    finetune: Literal["lora", "full"] = Field(
        "lora",
        description="lora: train adapters (replicated over train.devices ranks); full: train "
        "every weight (sharded over the ranks with FSDP2 when train.devices > 1).",
    )
    lora_r: int = Field(16, gt=0, description="LoRA rank.")
    lora_alpha: int = Field(32, gt=0, description="LoRA scaling numerator.")
    lora_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on LoRA inputs.")
    lora_target: str = Field("all-linear", description="peft target_modules.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on a GPU that supports it, float32 otherwise."
    )
    device: str = Field(
        "auto",
        description="auto | cpu | cuda | cuda:N. In the studio it also picks the workers: "
        "cpu runs on CPU workers, cuda on GPU workers, auto on any.",
    )
    devices: int = Field(
        1,
        ge=1,
        description="Devices (torch.distributed ranks, started by torchrun) per run, "
        "splitting each batch: LoRA replicates the student, full fine-tuning shards it. "
        "The studio refuses a run no advertised worker owns this many devices for.",
    )

    save_every: int = Field(50, gt=0, description="Checkpoint every N optimizer steps.")
    keep_checkpoints: int = Field(2, gt=0, description="Newest checkpoints kept.")
    sft_perspective: str | None = Field(
        None, description="Perspective used by sft/sbs (default: first available)."
    )
    specialist_perspective: str | None = Field(None, description="Perspective of specialist.")
    instruction: str = Field(DEFAULT_INSTRUCTION, description="Appended to every question.")
    probe_questions: int = Field(
        4,
        ge=0,
        description="Fixed training questions whose per-perspective CE is logged (0 = off).",
    )
    probe_every: int = Field(1, gt=0, description="Log the probe CE every N optimizer steps.")


MindPreset = Literal["paper", "adaptive"]
MetaTarget = Literal["raw", "excess", "progress", "centred"]
SelectOn = Literal["score", "prob"]
ProgramRule = Literal["keep", "no_consistency", "drop"]

# The values each `mind.preset` gives the fields it governs (keys set explicitly win).
# `paper` is the method spec read literally; `adaptive` is the recommended curriculum
# chosen from the controlled test (docs/method-notes.md, "Presets").
MIND_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "meta_target": "raw",
        "ema_momentum": None,
        "tau_meta": 1.0,
        "select_on": "score",
        "beta": 0.7,
        "beta_end": None,
        "min_selected": 1,
        "metanet_polyak": None,
        "meta_lr": None,
        "meta_lr_scale": 0.1,
        "meta_accum_scale": 4,
        "meta_weight_decay": 0.01,
        "meta_lr_schedule": "constant",
        "program_rationales": "keep",
    },
    "adaptive": {
        "meta_target": "progress",
        "ema_momentum": 0.5,
        "tau_meta": 0.1,
        "select_on": "prob",
        "beta": 0.7,
        "beta_end": None,
        "min_selected": 2,
        "metanet_polyak": 0.8,
        "meta_lr": 1e-3,
        "meta_lr_scale": 1.0,
        "meta_accum_scale": 1,
        "meta_weight_decay": 0.0,
        "meta_lr_schedule": "constant",
        "program_rationales": "no_consistency",
    },
}
DEFAULT_MIND_PRESET: MindPreset = "adaptive"
_ADAPTIVE = MIND_PRESETS[DEFAULT_MIND_PRESET]


class MindConfig(Section):
    """MIND's settings. Fields named in `MIND_PRESETS` take the preset's value unless set."""

    preset: MindPreset = Field(
        DEFAULT_MIND_PRESET,
        description="Values of the curriculum fields below that are not set: 'paper' (the "
        "spec read literally) or 'adaptive' (recommended; docs/method-notes.md).",
    )
    encoder: str = Field("all-MiniLM-L6-v2", description="Sentence-transformers model.")
    metanet_dim: int = Field(256, gt=0, description="MetaNet width d.")
    metanet_heads: int = Field(4, gt=0, description="Self-attention heads (synergy).")
    warmup_fraction: float = Field(0.1, ge=0, lt=1, description="Steps where only MetaNet trains.")
    meta_lr: float | None = Field(
        _ADAPTIVE["meta_lr"],
        gt=0,
        description="MetaNet's own learning rate; unset = the student's train.lr.",
    )
    meta_lr_scale: float = Field(
        _ADAPTIVE["meta_lr_scale"],
        gt=0,
        description="Joint-phase MetaNet lr = scale x its warm-up lr.",
    )
    meta_accum_scale: int = Field(
        _ADAPTIVE["meta_accum_scale"], gt=0, description="MetaNet accumulation x student's."
    )
    meta_weight_decay: float = Field(
        _ADAPTIVE["meta_weight_decay"], ge=0, description="AdamW weight decay of MetaNet."
    )
    meta_lr_schedule: Literal["constant", "student"] = Field(
        _ADAPTIVE["meta_lr_schedule"],
        description="MetaNet's lr: constant, or decayed by the student's train.lr_schedule.",
    )
    metanet_polyak: float | None = Field(
        _ADAPTIVE["metanet_polyak"],
        ge=0,
        lt=1,
        description="Decay of a Polyak (EMA) average of MetaNet whose scores set the weights "
        "(inertia that survives Adam's normalisation); off = the live MetaNet.",
    )
    meta_target: MetaTarget = Field(
        _ADAPTIVE["meta_target"],
        description="What MetaNet ranks: raw CE (low first), excess = CE minus the base "
        "student's CE (low first), progress = recent CE decrease (high first), centred = CE "
        "standardised within its perspective (low first).",
    )
    tau_meta: float = Field(
        _ADAPTIVE["tau_meta"], gt=0, description="Temperature of MetaNet's target softmax."
    )
    ema_momentum: float | None = Field(
        _ADAPTIVE["ema_momentum"],
        ge=0,
        lt=1,
        description="EMA of the target per (question, perspective) across visits (off).",
    )
    select_on: SelectOn = Field(
        _ADAPTIVE["select_on"],
        description="score: keep s_k >= beta * max s; prob: keep softmax(s/tau_student)_k >= "
        "beta * max, a margin in score that does not depend on the scores' level.",
    )
    beta: float = Field(_ADAPTIVE["beta"], ge=0, le=1, description="Selection threshold.")
    beta_end: float | None = Field(
        _ADAPTIVE["beta_end"],
        ge=0,
        le=1,
        description="If set, beta moves linearly to this value over the joint steps.",
    )
    min_selected: int = Field(
        _ADAPTIVE["min_selected"],
        ge=1,
        description="Best-scored perspectives always selected (2 keeps a consistency pair).",
    )
    tau_student: float = Field(0.5, gt=0, description="Temperature of alpha softmax.")
    lambda_cons: float = Field(0.1, ge=0, description="Weight of the consistency loss.")
    program_rationales: ProgramRule = Field(
        _ADAPTIVE["program_rationales"],
        description="Rationales that are programs (their result is never written out): keep, "
        "leave them out of the consistency pairs, or drop them from training.",
    )
    collapse_warning_steps: int = Field(
        10, gt=0, description="Warn when the selected set has had one member this many steps."
    )
    no_synergy: bool = Field(False, description="Ablation: no self-attention in MetaNet.")
    no_inertia: bool = Field(
        False, description="Ablation: scores from the current target instead of MetaNet."
    )
    no_consistency: bool = Field(False, description="Ablation: lambda = 0.")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        """Fill the fields the preset governs and the config leaves unset."""
        if not isinstance(data, dict):
            return data
        values = MIND_PRESETS.get(data.get("preset", DEFAULT_MIND_PRESET))
        return data if values is None else values | data


class TeacherConfig(Section):
    backend: Literal["openai", "hf"] = "openai"
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    api_key_secret: str | None = Field(
        None, description="Studio only: the team secret holding the API key, by name."
    )
    temperature: float = Field(0.0, ge=0, description="0 = greedy.")
    max_tokens: int = Field(512, gt=0, description="Longest rationale, in tokens.")
    max_concurrency: int = Field(8, gt=0, description="Requests in flight at once.")
    timeout_s: float = Field(120.0, gt=0, description="Per-request timeout.")
    max_retries: int = Field(5, ge=0, description="Retries on 429, 5xx, connection errors.")
    batch_size: int = Field(8, gt=0, description="hf backend generation batch.")


class BenchmarkConfig(Section):
    name: str = Field(min_length=1)
    path: str | None = None
    dataset: str | None = Field(None, description="Studio dataset id in place of path.")
    kind: Literal["id", "ood"] = "id"
    max_questions: int | None = Field(None, gt=0, description="First N questions only.")


class EvalConfig(Section):
    benchmarks: list[BenchmarkConfig] = Field(default_factory=list)
    max_new_tokens: int = Field(256, gt=0, description="Longest answer generated.")
    batch_size: int = Field(16, gt=0, description="Questions per generation batch.")
    engine: Literal["fast", "plain", "vllm"] = Field(
        "fast",
        description="fast: length-sorted batches, finished rows dropped; plain: "
        "model.generate; vllm: vLLM (GPU, the vllm extra). See mind/generation.py.",
    )
    stop_at_answer: bool = Field(
        True, description="Stop (and cut) each answer after its first complete answer line."
    )
    compile: bool = Field(
        False, description="fast engine: static KV cache and compiled decoding (GPU)."
    )
    packed_linear: bool = Field(
        True,
        description="fast engine on CPU (fp32, not compiled): linear layers on oneDNN with "
        "weights packed once; faster decoding, same values up to fp32 rounding.",
    )
    curve_questions: int = Field(
        0,
        ge=0,
        description="Learning curve: every kept checkpoint scored on the first N questions "
        "of the first id benchmark (0 = off; see train.keep_checkpoints).",
    )


class AnalysisConfig(Section):
    probe_questions: int = Field(16, gt=0, description="Questions in the fixed probe set.")
    pca_components: int = Field(32, gt=1, description="PCA width before clustering.")
    max_clusters: int = Field(20, gt=1, description="DPMM upper bound on components.")
    active_threshold: float = Field(0.01, gt=0, lt=1, description="Weight of an active cluster.")


class RunConfig(Section):
    student: str = Field("smollm2-135m-instruct", description="Bundled name, HF id or path.")
    method: Method = "mind"
    perspectives: list[str] | None = Field(None, description="Default: all found in data.")
    custom_perspectives: list[CustomPerspective] = Field(default_factory=list)
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    mind: MindConfig = Field(default_factory=MindConfig)
    teacher: TeacherConfig | None = None
    eval: EvalConfig = Field(default_factory=EvalConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    seed: int = 0

    def frozen(self) -> dict[str, Any]:
        """The full config with every default filled in, as JSON-ready data."""
        return self.model_dump(mode="json")


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a config mapping; raise ConfigError naming the first offending key."""
    if not isinstance(raw, dict):
        raise ConfigError("", "a run config must be a mapping of keys to values")
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(_key(err["loc"]), err["msg"]) from None
    _check_cross_field(config)
    return config


def _check_cross_field(c: RunConfig) -> None:
    """Rules that involve more than one field, each reported against one key."""
    if c.mind.metanet_dim % c.mind.metanet_heads:
        raise ConfigError(
            "mind.metanet_heads",
            f"{c.mind.metanet_heads} does not divide mind.metanet_dim={c.mind.metanet_dim}",
        )
    if c.train.questions_per_batch % c.train.devices:
        raise ConfigError(
            "train.questions_per_batch",
            f"{c.train.questions_per_batch} questions do not split evenly over "
            f"train.devices={c.train.devices}",
        )
    if c.method == "specialist" and not c.train.specialist_perspective:
        raise ConfigError("train.specialist_perspective", "method 'specialist' needs one")
    if c.perspectives is not None and len(set(c.perspectives)) != len(c.perspectives):
        raise ConfigError("perspectives", f"duplicate ids in {c.perspectives}")
    chosen = c.train.sft_perspective
    if chosen is not None and c.perspectives is not None and chosen not in c.perspectives:
        raise ConfigError(
            "train.sft_perspective",
            f"{chosen!r} is not one of the run's perspectives {c.perspectives}",
        )
    if c.method != "zero_shot" and not c.data.rationales and c.teacher is None:
        raise ConfigError(
            "data.rationales", f"method '{c.method}' needs rationales (or a teacher to write them)"
        )
    for i, bench in enumerate(c.eval.benchmarks):
        if (bench.path is None) == (bench.dataset is None):
            raise ConfigError(f"eval.benchmarks.{i}", "give exactly one of path or dataset")


def load_config(path: str | Path) -> RunConfig:
    """Read a YAML or JSON run config. Relative data paths are resolved from the CWD."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("", f"cannot read config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from exc
    return parse_config(raw if raw is not None else {})


def dump_config(config: RunConfig, path: Path) -> None:
    path.write_text(json.dumps(config.frozen(), indent=2) + "\n", encoding="utf-8")
