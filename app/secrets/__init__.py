"""Team secrets: teacher API keys, encrypted at rest, write-only over the API."""
