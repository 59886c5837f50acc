"""Uploaded questions and rationales files, stored as validated JSONL."""
