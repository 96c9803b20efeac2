"""Video super-resolution models: DUF (16L/28L/52L) and the bicubic baseline.

``build_model(name, scale=4)`` is the public entry point; importing this package imports
TensorFlow and Keras.
"""

from vsrdata.vsr_models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
