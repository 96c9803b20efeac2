"""From clips to samples: streaming decode, shot cuts, windows, crops and degradation.

Public API: :func:`degrade` (``bd``/``bi`` HR -> LR) and :func:`imresize` (MATLAB bicubic).
The build itself is :func:`vsrdata.preprocess.build.build`.
"""

from vsrdata.preprocess.degrade import degrade, imresize

__all__ = ["degrade", "imresize"]
