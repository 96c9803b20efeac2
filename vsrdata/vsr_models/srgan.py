"""SRGAN: SRResNet trained against a discriminator with a VGG19 feature loss.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network", CVPR 2017. The generator is SRResNet (:mod:`.srresnet`, the same builder and
weights: an exported SRGAN is an SRResNet-shaped model); what differs is training:

- The discriminator (the paper's Fig. 4) sees HR patches: a 3×3 convolution to 64 channels and
  LeakyReLU (α 0.2); seven 3×3 convolutions with batch norm and LeakyReLU, 64, 128, 128, 256,
  256, 512, 512 channels, strides 2, 1, 2, 1, 2, 1, 2; dense 1024, LeakyReLU, dense 1. Its
  input is rescaled to [-1, 1] (the paper's HR range); its output is a logit (the paper's
  sigmoid is inside the cross-entropy, the same function computed stably). The first dense
  layer's size follows from the patch: 23,565,505 trainable parameters at the paper's 96×96
  (the convolutions keep their biases; the paper does not say, Keras's default does).
- The generator's loss is the content loss plus 1e-3 × the adversarial loss −log D(G(x))
  (the non-saturating form the paper uses); the discriminator's is the binary cross-entropy
  of real HR patches against generated ones. Both update in every step, each with its own
  optimizer (the recipe's, at the same learning rate); both are in the run's checkpoints.
- The content loss is ``vgg54``: the MSE between VGG19 φ5,4 feature maps (the fourth
  convolution before the fifth pooling, after its ReLU) of the output and the target, each
  rescaled by 1/12.75 as the paper does (:func:`vsrdata.vsr_models.losses.vgg_feature_loss`).
  VGG19's ImageNet weights are a local file (``--vgg-weights``); ``--loss mse`` trains the
  paper's SRGAN-MSE variant without them.

The paper initializes SRGAN from an MSE-trained SRResNet and trains 10⁵ updates at 1e-4 and
10⁵ at 1e-5; here a run starts from scratch unless its generator is initialized otherwise.
"""

from __future__ import annotations

from typing import Any

from vsrdata.vsr_models.registry import Adversary, ModelSpec, Recipe
from vsrdata.vsr_models.srresnet import BLOCK_OPTIONS, PAPER, RADIUS, srresnet

ADVERSARIAL_WEIGHT = 1e-3
# (channels, stride) of the seven convolutions after the first, each with batch norm
BODY = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))


def discriminator(hr: Any, synchronized_bn: bool = False) -> Any:
    """[B, H, W, 3] HR patches in [0, 1] (H, W known: the dense layer's size) -> [B, 1]
    logits that the patch is real."""
    import keras

    from vsrdata.vsr_models.layers import BatchNorm, Conv2D

    def act(x: Any, name: str) -> Any:
        return keras.layers.LeakyReLU(negative_slope=0.2, name=name)(x)

    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(hr)
    x = act(Conv2D(64, 3, padding="same", name="d_conv1")(x), "d_act1")
    for i, (channels, stride) in enumerate(BODY, start=2):
        x = Conv2D(channels, 3, stride, padding="same", name=f"d_conv{i}")(x)
        x = BatchNorm(synchronized=synchronized_bn, momentum=0.9, epsilon=1e-5,
                      name=f"d_bn{i}")(x)  # fmt: skip
        x = act(x, f"d_act{i}")
    x = keras.layers.Flatten(name="d_flatten")(x)
    x = act(keras.layers.Dense(1024, name="d_dense1")(x), "d_act_dense")
    return keras.layers.Dense(1, name="d_logit", dtype="float32")(x)


SPECS = [
    ModelSpec(
        "srgan", srresnet, 1, PAPER, colour="rgb", upsampling="post", radius=RADIUS,
        batch_norm=True, options=BLOCK_OPTIONS,
        adversary=Adversary(discriminator, ADVERSARIAL_WEIGHT),
        # the paper: Adam (β1 0.9), batch 16 of 96×96 HR crops, 10⁵ updates at 1e-4 then 10⁵
        # at 1e-5 (about 4.6 epochs each of its 350 k ImageNet images)
        recipe=Recipe(loss="vgg54", optimizer="adam", lr=1e-4, schedule="step",
                      decay_epochs=4.6, decay_factor=0.1, batch_size=16, patch=24, epochs=9.2,
                      note="needs --vgg-weights (VGG19 ImageNet, the Keras notop HDF5); the "
                           "paper starts from an MSE-trained SRResNet"),
    )
]  # fmt: skip
