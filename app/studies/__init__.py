"""Studies: a grid of runs (methods x seeds x budgets) compared on the same questions."""
