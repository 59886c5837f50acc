"""Teacher jobs: a rationale dataset written on its own, and the teacher connection test."""
