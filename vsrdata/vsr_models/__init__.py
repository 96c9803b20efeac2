"""Video super-resolution models (DUF and baselines) and their training loop (issue 4)."""
