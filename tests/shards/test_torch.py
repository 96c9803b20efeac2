"""``vsrdata.shards.torch_dataset``: every sample exactly once per epoch across ranks and
DataLoader workers, the TensorFlow input's augmentation in numpy (equal to it, draw for
draw), and a few training steps of a tiny PyTorch network (when PyTorch is installed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from vsrdata.shards.augment import augment
from vsrdata.shards.reader import iter_samples
from vsrdata.shards.torch_data import iter_consumer, plan


@pytest.mark.parametrize("counts", [[5, 0, 7, 3], [1], [2, 2], [40, 1, 1]])
@pytest.mark.parametrize("consumers", [1, 2, 3, 4, 7, 16])
def test_the_plan_covers_every_row_once(counts: list[int], consumers: int) -> None:
    order = list(reversed(range(len(counts))))
    rows = Counter()
    for c in range(consumers):
        for shard, lo, hi in plan(counts, consumers, c, order):
            assert 0 <= lo < hi <= counts[shard]
            rows.update((shard, r) for r in range(lo, hi))
    assert rows == Counter((s, r) for s, n in enumerate(counts) for r in range(n))


def test_two_ranks_of_two_workers_read_every_sample_once_per_epoch(built: Path) -> None:
    everything = Counter(s["sample_id"] for s in iter_samples(built, "train", decode=False))
    for epoch in (0, 1):
        seen = Counter()
        for rank in range(2):
            for worker in range(2):
                ids = [sid for _, _, sid in iter_consumer(
                    built, "train", consumer=rank * 2 + worker, consumers=4, epoch=epoch,
                    shuffle_buffer=8)]  # fmt: skip
                seen.update(ids)
        assert seen == everything
    one = Counter(sid for _, _, sid in iter_consumer(built, "val", shuffle=False))
    assert one == Counter(s["sample_id"] for s in iter_samples(built, "val", decode=False))


def test_a_sample_is_augmented_the_same_whoever_reads_it(built: Path) -> None:
    alone = {sid: (lr, hr) for lr, hr, sid in iter_consumer(built, "train", patch=8)}
    split = {}
    for c in range(3):
        split.update({sid: (lr, hr) for lr, hr, sid in iter_consumer(
            built, "train", consumer=c, consumers=3, patch=8)})  # fmt: skip
    assert alone.keys() == split.keys()
    for sid, (lr, hr) in alone.items():
        assert lr.shape == (7, 8, 8, 3) and hr.shape == (32, 32, 3)
        assert np.array_equal(lr, split[sid][0]) and np.array_equal(hr, split[sid][1])


@pytest.mark.parametrize("corner", [False, True])
def test_numpy_augmentation_equals_the_tensorflow_input_draw_for_draw(corner: bool) -> None:
    import tensorflow as tf

    from vsrdata.vsr_models.data import augment_with_draws

    rng = np.random.default_rng(7)
    lr = rng.integers(0, 256, (7, 12, 12, 3), dtype=np.uint8)
    hr = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    for bits in range(64):  # every combination of the four coin flips, two offsets each
        draws = np.array([bits & 1, bits >> 1 & 1, 3 + bits, 5 * bits, bits >> 2 & 1,
                          bits >> 3 & 1]) + 2 * rng.integers(0, 1000, 6)  # fmt: skip
        draws[:2] %= 2
        draws[4:] %= 2
        a = augment(lr, hr, draws, 4, 8, corner)
        b = augment_with_draws(tf.constant(lr), tf.constant(hr), tf.constant(draws, tf.int32),
                               4, 8, corner)  # fmt: skip
        assert np.array_equal(a[0], b[0].numpy()) and np.array_equal(a[1], b[1].numpy())


def test_a_few_pytorch_training_steps_from_a_dataloader(built: Path) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install torch")
    from torch.utils.data import DataLoader

    from vsrdata.shards import torch_dataset

    ds = torch_dataset(built, "train", patch=8, seed=0)
    loader = DataLoader(ds, batch_size=4, num_workers=2)
    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(21, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 48, 3, padding=1), nn.PixelShuffle(4))  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    losses = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        for lr, hr in loader:
            assert lr.shape[1:] == (7, 3, 8, 8) and hr.shape[1:] == (3, 32, 32)
            assert lr.dtype == torch.float32 and 0 <= float(lr.min()) <= float(lr.max()) <= 1
            loss = torch.nn.functional.l1_loss(net(lr.flatten(1, 2)), hr)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-3:]) < losses[0]
    counted = sum(1 for _ in DataLoader(torch_dataset(built, "val"), batch_size=None))
    assert counted == sum(1 for _ in iter_samples(built, "val", decode=False))
    # two ranks of two DataLoader workers: every sample exactly once in the epoch
    seen: Counter[str] = Counter()
    for rank in range(2):
        part = torch_dataset(built, "train", rank=rank, world_size=2, with_id=True, patch=8)
        part.set_epoch(1)
        for batch in DataLoader(part, batch_size=3, num_workers=2):
            seen.update(batch[2])
    assert seen == Counter(s["sample_id"] for s in iter_samples(built, "train", decode=False))
