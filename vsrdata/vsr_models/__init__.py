"""Video super-resolution models: the registry (DUF 16L/28L/52L so far), layers, training.

``build_model(name, scale=4)`` is the public entry point; ``spec(name)`` describes a
model (:class:`ModelSpec`: window, colour space, scales, options, training recipe).
Importing this package is cheap; TensorFlow and Keras are imported when a model is built.
"""

from vsrdata.vsr_models.registry import ModelSpec, build_model, names, spec, trainable

__all__ = ["ModelSpec", "build_model", "names", "spec", "trainable"]
