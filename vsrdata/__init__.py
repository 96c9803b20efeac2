"""vsrdata: license-free web video into video super-resolution training data.

Stages (each a library function and a ``vsrdata`` command): ``synth`` and, later, ``crawl``
produce clips; ``build`` turns clips into a sharded HR/LR dataset; ``info`` describes one.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vsrdata")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
