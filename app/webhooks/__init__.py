"""Signed webhooks: a user's endpoints, the events they want, and a log of every delivery."""
