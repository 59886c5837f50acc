"""Celery worker: executes runs in supervised child processes, reconciles lost runs."""
