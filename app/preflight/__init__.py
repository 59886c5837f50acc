"""The pre-flight check of a run config: what curation keeps, tokens and training time."""
