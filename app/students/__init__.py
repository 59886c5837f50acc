"""Student models a run can start from without network access."""
