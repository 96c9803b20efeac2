"""The model registry: every network describes itself with a :class:`ModelSpec`.

A model is one file that defines ``SPECS`` (its :class:`ModelSpec` objects, each with its
builder) and one line in :data:`MODULES` naming that file. Nothing outside a model's own
file names a particular model: training, validation, eval, upscale and convert read the spec
(window length, colour space, scales, receptive radius, batch norm, options, recipe).

Importing this module does not import TensorFlow: a model file keeps Keras inside its
builder (its custom layers live in :mod:`vsrdata.vsr_models.layers`), so listing the specs
is cheap. Models from elsewhere register through the ``vsrdata.models`` entry-point group or
the ``VSRDATA_MODEL_MODULES`` environment variable (comma-separated module names), whose
modules define ``SPECS`` the same way (the tests add a tiny model so).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, NamedTuple

from vsrdata.common.constants import SCALES
from vsrdata.common.options import Option, parse_assignments, resolve
from vsrdata.common.quiet import warn_if_onednn_off
from vsrdata.errors import UsageError

COLOURS = ("rgb", "y")  # y: the network sees luma; Cb/Cr come from bicubic
UPSAMPLING = ("pre", "post")  # pre: refines a bicubic upscale; post: upsamples itself
# vsr_models.losses; vgg54 needs VGG19 weights (--vgg-weights)
LOSSES = ("huber", "mse", "l1", "charbonnier", "inv-psnr", "dssim", "vgg54")
OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad")
VGG_WEIGHTS_NEEDED = (
    "the vgg54 loss (SRGAN's) compares VGG19 features, and vsrdata downloads no VGG19 "
    "ImageNet weights: give --vgg-weights PATH, the Keras file "
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or train SRGAN-MSE with --loss mse"
)

# name -> the module whose SPECS define it (one line per model file)
MODULES: dict[str, str] = {
    "duf-16l": "vsrdata.vsr_models.duf",
    "duf-28l": "vsrdata.vsr_models.duf",
    "duf-52l": "vsrdata.vsr_models.duf",
    "srcnn": "vsrdata.vsr_models.srcnn",
    "tsrcnn-small": "vsrdata.vsr_models.srcnn",
    "tsrcnn-large": "vsrdata.vsr_models.srcnn",
    "espcn": "vsrdata.vsr_models.espcn",
    "vdsr": "vsrdata.vsr_models.vdsr",
    "carn": "vsrdata.vsr_models.carn",
    "carn-m": "vsrdata.vsr_models.carn",
    "srresnet": "vsrdata.vsr_models.srresnet",
    "drcn": "vsrdata.vsr_models.drcn",
    "vespcn": "vsrdata.vsr_models.vespcn",
    "srgan": "vsrdata.vsr_models.srgan",
}


class Supervised(NamedTuple):
    """What a builder returns for a network trained with more than its output's loss: its
    output; intermediate predictions of the same target, each scored by the loss (DRCN's
    recursive supervision); and auxiliary per-example loss terms [B] computed in the graph,
    already weighted (VESPCN's motion-compensation loss). Neither may have weights of their
    own (the output depends on every weight), so the exported model is the output alone."""

    output: Any
    intermediate: tuple[Any, ...] = ()
    auxiliary: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Adversary:
    """A discriminator the network trains against (SRGAN): ``builder(hr, [synchronized_bn])``
    maps an HR patch input [B, H, W, 3] in [0, 1] to [B, 1] logits that it is real; the
    generator's loss adds ``weight`` × −log D(G(x)) to its content loss."""

    builder: Callable[..., Any]
    weight: float = 1e-3


@dataclass(frozen=True)
class Paper:
    authors: str
    title: str
    venue: str
    year: int

    def cite(self) -> str:
        """'Jo et al., CVPR 2018' (the first author's name, the venue and year)."""
        first = self.authors.split(",")[0].strip()
        return f"{first}{' et al.' if ',' in self.authors else ''}, {self.venue} {self.year}"


@dataclass(frozen=True)
class Recipe:
    """How the paper trained it; ``--preset paper`` fills these in (explicit options win)."""

    loss: str = "huber"
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str = "step"
    decay_epochs: float = 10.0
    decay_factor: float = 0.1
    warmup: int = 0
    batch_size: int = 16
    patch: int = 32
    epochs: float = 30.0
    momentum: float = 0.9  # sgd
    weight_decay: float = 0.0  # decoupled (w -= lr·wd·w), for every optimizer
    clip_norm: float | None = None  # clip the global gradient norm to this
    # VDSR's adjustable clipping: each gradient element to [-θ/lr, θ/lr] at learning rate lr
    clip_adjustable: float | None = None
    # deep supervision (a builder returning Supervised): the intermediate predictions' share
    # α of the loss falls linearly from 1 to 0 over this fraction of the run
    supervision_decay: float = 0.5
    note: str = ""

    def __post_init__(self) -> None:
        if self.loss not in LOSSES or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"recipe: loss {self.loss!r}, optimizer {self.optimizer!r}")

    def preset(self) -> dict[str, Any]:
        """The :class:`~vsrdata.vsr_models.config.TrainConfig` fields this recipe sets."""
        keys = ("loss", "optimizer", "lr", "schedule", "decay_epochs", "decay_factor", "warmup",
                "batch_size", "patch", "epochs", "momentum", "weight_decay", "clip_norm",
                "clip_adjustable")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


@dataclass(frozen=True)
class ModelSpec:
    """What a network is and how to build, load, feed and train it."""

    name: str
    # builder(x, scale=..., [synchronized_bn=...], **options) -> the output tensor, from the
    # input tensor as the network sees it (see :meth:`build`)
    builder: Callable[..., Any]
    frames: int  # window length: 1, 3, 5 or 7 LR frames in, the centre frame out
    paper: Paper | None = None
    colour: str = "rgb"
    upsampling: str = "post"
    scales: tuple[int, ...] = SCALES
    # a bound on the receptive radius, LR pixels: the tile overlap that makes the plain tiling
    # loop exact (vsr_models.tiling finds the exact radius where it can follow the layers)
    radius: int = 0
    batch_norm: bool = False  # the builder takes synchronized_bn (statistics over replicas)
    options: Mapping[str, Option] = field(default_factory=dict)
    recipe: Recipe | None = None  # None: nothing to train (a model for imported weights)

    # tiles start at multiples of this (LR pixels): networks with strided layers sample the
    # same grid in a tile as in the whole frame only then
    align: int = 1
    # the option that holds N neighbours on each side (the window is then 2N+1 frames, and
    # ``frames`` is the default's); None: the window is always ``frames``
    frames_option: str | None = None
    # trained against a discriminator (the exported model is the generator alone)
    adversary: Adversary | None = None

    def __post_init__(self) -> None:
        if self.frames not in (1, 3, 5, 7):
            raise ValueError(f"{self.name}: a window has 1, 3, 5 or 7 frames")
        if self.frames_option is not None and self.frames_option not in self.options:
            raise ValueError(f"{self.name}: frames_option {self.frames_option!r} is no option")
        if self.colour not in COLOURS or self.upsampling not in UPSAMPLING:
            raise ValueError(f"{self.name}: colour {self.colour!r}, upsampling {self.upsampling!r}")

    def window(self, options: Mapping[str, Any] | None = None) -> int:
        """The window length with these options (``frames`` unless an option sets it)."""
        if self.frames_option is None:
            return self.frames
        return 2 * int(self.resolve(options)[self.frames_option]) + 1

    @property
    def trainable(self) -> bool:
        return self.recipe is not None

    def resolve(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every option's value: the defaults, overridden by ``options`` (checked)."""
        return resolve(self.name, self.options, dict(options or {}))

    def build(
        self,
        scale: int = 4,
        synchronized_bn: bool = False,
        options: Mapping[str, Any] | None = None,
        supervised: bool = False,
    ) -> Any:
        """A ``keras.Model`` from [B, frames, h, w, 3] in [0, 1] to [B, h·r, w·r, 3].

        The builder gets the window as its network sees it: luma only for ``colour="y"``
        ([B, T, h, w, 1], the RGB frames' BT.601 Y), every frame bicubic-upscaled for
        ``upsampling="pre"`` ([B, T, h·r, w·r, C]); it returns the HR frame in the same colour
        space, and a ``y`` network's luma gets the chroma of the bicubic centre frame. So
        every model maps the same RGB windows to RGB frames, and eval, upscale and training
        treat them alike. One flat model: every layer is in ``model.layers``.

        ``supervised``: for a builder that returns :class:`Supervised`, the model's outputs
        are a dict: ``output``, ``intermediate`` (RGB predictions) and ``auxiliary`` (loss
        terms); built the same way either way, so weights move between the forms in order.
        """
        import keras

        from vsrdata.vsr_models.layers import BicubicFrames, LumaOverBicubic, RgbToY, exact_dtype

        if scale not in self.scales:
            raise UsageError(f"{self.name} upscales by {self.scales}, not {scale}")
        kwargs = self.resolve(options)
        if self.batch_norm:
            kwargs["synchronized_bn"] = synchronized_bn
        lr = keras.Input(shape=(self.window(options), None, None, 3), name="lr")
        x = lr
        exact = exact_dtype()  # the adapters stay float32 under a mixed policy
        if self.colour == "y":
            x = RgbToY(name="luma", dtype=exact)(x)
        if self.upsampling == "pre":
            x = BicubicFrames(scale, name="bicubic_frames", dtype=exact)(x)
        built = self.builder(x, scale=scale, **kwargs)
        parts = built if isinstance(built, Supervised) else Supervised(built)
        out, heads = parts.output, list(parts.intermediate)
        if self.colour == "y":
            out = LumaOverBicubic(scale, name="rgb", dtype=exact)(out, lr)
            heads = [LumaOverBicubic(scale, name=f"rgb_{i}", dtype=exact)(h, lr)
                     for i, h in enumerate(heads, start=1)]  # fmt: skip
        name = f"{self.name}-x{scale}"
        if supervised and (heads or parts.auxiliary):
            outputs = {"output": out, "intermediate": heads, "auxiliary": list(parts.auxiliary)}
            return keras.Model(lr, outputs, name=name)
        return keras.Model(lr, out, name=name)

    def identity(self, scale: int, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a model file is, for its manifest: name, options, scale, window, colour,
        upsampling."""
        return {"model": self.name, "options": self.resolve(options), "scale": scale,
                "frames": self.window(options), "colour": self.colour,
                "upsampling": self.upsampling}  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (``vsrdata models``, manifests)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ("builder", "options", "recipe", "paper", "adversary")}  # fmt: skip
        out["scales"] = list(self.scales)
        out["paper"] = self.paper.cite() if self.paper else None
        out["options"] = {k: o.default for k, o in self.options.items()}
        out["trainable"] = self.trainable
        out["adversarial"] = self.adversary is not None
        return out


def _plugin_modules() -> list[str]:
    names = [m.strip() for m in os.environ.get("VSRDATA_MODEL_MODULES", "").split(",")]
    names += [ep.value for ep in entry_points(group="vsrdata.models")]
    return [n for n in names if n]


_SPECS: dict[str, ModelSpec] = {}
_LOADED: set[str] = set()


def _load(module: str) -> None:
    if module in _LOADED:
        return
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"model module {module} (VSRDATA_MODEL_MODULES or a vsrdata.models "
                         f"entry point) cannot be imported: {exc}") from None  # fmt: skip
    specs = getattr(loaded, "SPECS", None)
    if not specs:
        raise UsageError(f"model module {module} defines no SPECS")
    for spec in specs:
        _SPECS[spec.name] = spec
    _LOADED.add(module)


def names() -> list[str]:
    """Every registered model name (the plugins' included), without importing a model."""
    out = list(MODULES)
    for module in _plugin_modules():
        _load(module)
    out += [n for n in _SPECS if n not in out]
    return out


def spec(name: str) -> ModelSpec:
    """The spec of model ``name`` (imports its file, not TensorFlow)."""
    if name not in _SPECS:
        if name in MODULES:
            _load(MODULES[name])
        else:
            for module in _plugin_modules():
                _load(module)
    if name not in _SPECS:
        raise UsageError(f"unknown model {name!r}; choose from {', '.join(names())}")
    return _SPECS[name]


def specs() -> list[ModelSpec]:
    return [spec(n) for n in names()]


def trainable() -> list[str]:
    return [s.name for s in specs() if s.trainable]


def build_model(name: str, scale: int = 4, synchronized_bn: bool = False, **options: Any) -> Any:
    """``spec(name).build(scale, synchronized_bn, options)``."""
    if scale not in SCALES:
        raise UsageError(f"scale must be one of {SCALES}, got {scale}")
    model = spec(name).build(scale, synchronized_bn, options)
    warn_if_onednn_off()
    return model


def parse_options(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["depth=10", "bn=true"]`` -> ``{"depth": "10", "bn": "true"}`` (checked by the spec)."""
    out = {}
    for key, values in parse_assignments(items, "--model-option").items():
        if len(values) > 1:
            raise UsageError(f"--model-option {key} is given {len(values)} times")
        out[key] = values[0]
    return out
