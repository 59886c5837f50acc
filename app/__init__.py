"""MIND Studio web service: FastAPI app, database models and REST API, one package per domain."""
