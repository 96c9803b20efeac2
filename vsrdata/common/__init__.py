"""The leaf every package may use (DESIGN.md): nothing here imports another vsrdata package."""
