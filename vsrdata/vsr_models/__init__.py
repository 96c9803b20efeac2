"""Video super-resolution models: DUF (16L/28L/52L) and the bicubic baseline.

``build_model(name, scale=4)`` is the public entry point. Importing this package is cheap;
TensorFlow and Keras are imported when a model is built.
"""

from vsrdata.vsr_models.registry import MODELS, TRAINABLE, build_model

__all__ = ["MODELS", "TRAINABLE", "build_model"]
