"""Runs: submission, lifecycle (cancel, clone, resume, delete) and the event log."""
