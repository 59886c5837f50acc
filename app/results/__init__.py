"""What a run produced: metric and weight series, evaluations, latent maps, files."""
