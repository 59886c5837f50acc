"""The teacher: prompts per perspective, backends (OpenAI-compatible HTTP, local transformers),
a cache of finished outputs, and `generate_rationales` (mind.teacher.generate)."""
