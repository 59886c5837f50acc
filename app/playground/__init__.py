"""Trying a run's student: streamed answers (playground) and portable exports.

Inference runs in the web tier, on `MIND_INFERENCE_DEVICE` (CPU by default), in worker
threads bounded by `MIND_INFERENCE_CONCURRENCY`, with the last `MIND_INFERENCE_MODELS`
loaded models cached: a training worker and its GPU are never asked for anything.
"""
