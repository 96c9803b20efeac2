"""Evaluation: PSNR/SSIM in the conventions of the published VSR tables.

``psnr`` and ``ssim`` are pure NumPy functions (no TensorFlow import).
"""

from vsrdata.evaluate.metrics import psnr, psnr_ssim, rgb_to_y, ssim

__all__ = ["psnr", "psnr_ssim", "rgb_to_y", "ssim"]
