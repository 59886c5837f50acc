"""The built-in reasoning perspectives a run can ask for."""
