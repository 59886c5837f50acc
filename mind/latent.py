"""Latent-space analysis (method spec section 8): do the student's reasoning modes separate?

Each (question, perspective) rationale is teacher-forced through the student, and its last
hidden layer is mean-pooled over the rationale tokens only, so the vector describes how the
student represents that way of reasoning rather than the prompt every perspective shares.
The vectors are reduced with PCA, clustered by a Dirichlet-process Gaussian mixture (which
chooses how many clusters it needs), scored against the perspective labels and mapped to
2-D with t-SNE.

Extraction (`rationale_vectors`, torch) is kept apart from clustering (`summarise`, numpy),
so the metrics can be checked on synthetic vectors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.mixture import BayesianGaussianMixture

from mind.config import AnalysisConfig
from mind.curation import Example
from mind.errors import InputError
from mind.plots import latent_map, purity_text
from mind.student_prompt import prompt_text


@dataclass(frozen=True)
class ProbeItem:
    """One rationale of the probe set: a point of the latent map."""

    question_id: str
    perspective: str
    question: str
    rationale: str


@dataclass(frozen=True)
class LatentResult:
    """What latent.json holds; `points` are the t-SNE map, one per ProbeItem, in order.

    `purity` is None, and `warning` says why, when there are as many clusters as points:
    each point can then be its cluster's majority and purity is 1 whatever the student
    learned (`purity_applies`).
    """

    n_points: int
    n_clusters: int
    purity: float | None
    nmi: float
    points: list[dict[str, Any]]
    warning: str | None = None


def probe_items(examples: list[Example]) -> list[ProbeItem]:
    return [
        ProbeItem(ex.question.id, perspective, ex.question.question, text)
        for ex in examples
        for perspective, text in ex.rationales.items()
    ]


def _encode(tokenizer: Any, item: ProbeItem, instruction: str, max_seq_len: int):
    """Prompt + rationale token ids and the index where the rationale starts.

    The two parts are tokenized apart so the boundary is exact; the rationale's tail is
    what gets cut when the sequence is too long.
    """
    prompt = prompt_text(tokenizer, item.question, instruction)
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    rationale_ids = tokenizer(item.rationale, add_special_tokens=False).input_ids
    room = max_seq_len - len(prompt_ids)
    if room < 1 or not rationale_ids:
        raise InputError(
            f"question {item.question_id!r} ({item.perspective}): no rationale token fits "
            f"(prompt {len(prompt_ids)} tokens, max_seq_len={max_seq_len})"
        )
    return prompt_ids + rationale_ids[:room], len(prompt_ids)


@torch.no_grad()
def rationale_vectors(
    model: Any,
    tokenizer: Any,
    items: list[ProbeItem],
    instruction: str,
    batch_size: int = 8,
    max_seq_len: int = 512,
) -> np.ndarray:
    """(N, C) float32: the last hidden layer, mean-pooled over each item's rationale tokens.

    Sequences are right-padded, so real tokens keep their positions and, the model being
    causal, never attend to padding. Only the decoder runs: the (B, T, vocab) logits are
    never needed.
    """
    if not items:
        raise InputError("the probe set is empty")
    encoded = [_encode(tokenizer, item, instruction, max_seq_len) for item in items]
    vectors = []
    for first in range(0, len(encoded), batch_size):
        batch = encoded[first : first + batch_size]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        pool = torch.zeros(len(batch), width)  # (B, T): 1 on rationale tokens only
        for row, (ids, start) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
            pool[row, start : len(ids)] = 1
        out = model.base_model(
            input_ids=input_ids.to(model.device),
            attention_mask=attention.to(model.device),
            output_hidden_states=True,
        )
        hidden = out.hidden_states[-1].float()  # (B, T, C)
        pool = pool.to(hidden.device)
        pooled = (hidden * pool[..., None]).sum(1) / pool.sum(1, keepdim=True)  # (B, C)
        vectors.append(pooled.cpu().numpy())
    return np.concatenate(vectors)


def reduce(vectors: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """PCA to at most `n_components`, bounded by what N points in C dims can span."""
    n, dim = vectors.shape
    k = min(n_components, n - 1, dim)
    return PCA(n_components=k, random_state=seed).fit_transform(vectors)


def fit_clusters(
    features: np.ndarray, max_clusters: int, active_threshold: float, seed: int
) -> tuple[np.ndarray, int]:
    """Cluster id per point and the number of active clusters.

    A cluster is active when its share of the points (mean posterior responsibility)
    exceeds the threshold. The mixture's own `weights_` are stick-breaking expectations,
    which stay well above zero for an empty component that sits before used ones in the
    stick order, so they over-count. Spherical covariances: a probe set has about as few
    points per cluster as PCA keeps dimensions, too few for a diagonal or full fit, which
    split every blob into singletons on synthetic tests.
    """
    mixture = BayesianGaussianMixture(
        n_components=min(max_clusters, len(features)),
        weight_concentration_prior_type="dirichlet_process",
        covariance_type="spherical",
        max_iter=500,
        random_state=seed,
    ).fit(features)
    share = mixture.predict_proba(features).mean(axis=0)  # (components,)
    clusters = np.unique(mixture.predict(features), return_inverse=True)[1]  # ids 0..k-1
    return clusters, int((share > active_threshold).sum())


def purity(labels: list[str], clusters: np.ndarray) -> float:
    """Fraction of points whose cluster's majority label is their own label."""
    table = contingency_matrix(labels, clusters)  # (labels, clusters)
    return float(table.max(axis=0).sum() / table.sum())


def purity_applies(clusters: np.ndarray, n_active: int) -> bool:
    """Purity says something only with fewer clusters than points, counted as assigned or
    as active: with a cluster per point each point is its cluster's majority, and purity is
    1 whatever the student learned."""
    n = len(clusters)
    return len(np.unique(clusters)) < n and n_active < n


def purity_warning(n_points: int, n_clusters: int) -> str:
    return (
        f"purity not applicable: {n_clusters} clusters for {n_points} probe points, so each "
        "point can be its own cluster's majority (purity 1 by construction); probe more "
        "questions (analysis.probe_questions) or allow fewer clusters (analysis.max_clusters)"
    )


def tsne_2d(features: np.ndarray, seed: int) -> np.ndarray:
    """(N, 2) t-SNE map; perplexity stays below N, as t-SNE requires."""
    n = len(features)
    perplexity = min(30.0, max(1.0, (n - 1) / 3))
    init = "pca" if features.shape[1] >= 2 and features.std() > 0 else "random"
    tsne = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=seed)
    return tsne.fit_transform(features)


def summarise(
    vectors: np.ndarray,
    perspectives: list[str],
    question_ids: list[str],
    cfg: AnalysisConfig,
    seed: int,
) -> LatentResult:
    """Clusters, purity, NMI and the 2-D map of (N, C) vectors labelled by perspective."""
    if len(vectors) < 2:
        raise InputError(f"the latent analysis needs at least 2 points, got {len(vectors)}")
    assert len(vectors) == len(perspectives) == len(question_ids), "one label per vector"
    features = reduce(vectors, cfg.pca_components, seed)
    clusters, n_active = fit_clusters(features, cfg.max_clusters, cfg.active_threshold, seed)
    xy = tsne_2d(features, seed)
    points = [
        {"x": float(x), "y": float(y), "perspective": p, "cluster": int(c), "question_id": q}
        for (x, y), p, c, q in zip(xy, perspectives, clusters, question_ids, strict=True)
    ]
    applies = purity_applies(clusters, n_active)
    k = max(n_active, len(np.unique(clusters)))
    return LatentResult(
        n_points=len(points),
        n_clusters=n_active,
        purity=purity(perspectives, clusters) if applies else None,
        nmi=float(normalized_mutual_info_score(perspectives, clusters)),
        points=points,
        warning=None if applies else purity_warning(len(points), k),
    )


def analyze(
    model: Any,
    tokenizer: Any,
    examples: list[Example],
    analysis_cfg: AnalysisConfig,
    instruction: str,
    out_dir: str | Path,
    seed: int,
    batch_size: int = 8,
    max_seq_len: int = 512,
) -> LatentResult:
    """Analyse the first `probe_questions` examples; write latent.json and latent.html.

    The html carries plotly.js inline because the studio must work without internet.
    """
    items = probe_items(examples[: analysis_cfg.probe_questions])
    vectors = rationale_vectors(model, tokenizer, items, instruction, batch_size, max_seq_len)
    result = summarise(
        vectors,
        [item.perspective for item in items],
        [item.question_id for item in items],
        analysis_cfg,
        seed,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latent.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    title = (
        f"Student latent space: {result.n_clusters} active clusters, "
        f"purity {purity_text(result.purity)}, NMI {result.nmi:.2f}"
    )
    latent_map(result.points, title).write_html(out_dir / "latent.html", include_plotlyjs=True)
    return result
