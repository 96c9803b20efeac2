"""The metrics, where evaluation code has always found them (they live in
:mod:`vsrdata.common.metrics`, below the training validation that uses them too)."""

from vsrdata.common.metrics import PSNR_CAP, flow_error, psnr, psnr_ssim, rgb_to_y, ssim

__all__ = ["PSNR_CAP", "flow_error", "psnr", "psnr_ssim", "rgb_to_y", "ssim"]
