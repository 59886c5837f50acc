"""Reproducible experiments over the `mind` core; run each as `python -m experiments.<name>`."""
