"""Evaluation: PSNR/SSIM in the published conventions, per clip and per category (issue 5)."""
