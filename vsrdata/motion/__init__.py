"""Motion analysis for crop selection: dense optical flow on small grey frames, and
summed-area-table scoring of candidate crops (motion across a window, texture of its centre)."""
