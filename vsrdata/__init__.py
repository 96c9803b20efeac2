"""vsrdata: license-free web video into video super-resolution training data.

Stages (each a library function and a ``vsrdata`` command): ``synth`` and, later, ``crawl``
produce clips; ``build`` turns clips into a sharded HR/LR dataset; ``info`` describes one.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# TensorFlow turns its oneDNN CPU kernels on by itself only where the CPU has AVX-512 VNNI, BF16
# or AMX. Elsewhere (AVX2 CPUs: AMD Zen 2 and 3, Intel before Cascade Lake) it runs Eigen's
# kernels, and DUF-16L trains 2.2x and infers 1.7x slower with them (docs/benchmarks.md). The
# switch is read when TensorFlow is imported, so it is set here, before any vsrdata module
# imports TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 in the environment still turns oneDNN off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

try:
    __version__ = version("vsrdata")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
