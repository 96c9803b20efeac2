"""The dataset's readers for other frameworks, as ratios over DUF-16L training (issue 16).

In one run (one process, alternating rounds, medians), on the same dataset in three formats:
- training, DUF-16L ×4, batch 8 of 7×32×32 LR (compute only, in-memory batches): the rate
  every reader is measured against (goal: the input reads >= 10× faster than training eats);
- ``training_stream`` (tf.data, TFRecord): the TensorFlow input, for reference;
- ``torch_dataset``'s core (``iter_consumer``: read, PNG decode, augment, shuffle buffer), one
  consumer, Parquet and WebDataset shards; and a PyTorch ``DataLoader`` over it with 2
  workers when PyTorch is importable;
- the ``webdataset`` package's own pipeline over the tar shards (read, PNG decode);
- object storage: reading every train shard from a local S3 server (moto, started here)
  into an empty cache, against reading the same shards from local disk.

    python bench/input_formats.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _common import OUT, alternate, clips, report

from vsrdata.preprocess.build import build
from vsrdata.preprocess.config import BuildConfig

BATCH, PATCH, SCALE, READ = 8, 32, 4, 200


def dataset(out: str) -> str:
    if not out.startswith("s3://") and (OUT / "input-formats" / "dataset.json").exists():
        return out
    source = clips("train-clips", clips=6, seconds=3.0, size=(480, 270), seed=3)
    build(BuildConfig(source=str(source), out=out, split=(1.0, 0.0, 0.0), workers=1,
                      formats=("parquet", "tfrecord", "webdataset")))  # fmt: skip
    return out


def s3_server() -> str:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    for _ in range(600):  # start() returns before the server listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                      VSRDATA_CACHE=str(OUT / "input-formats-cache"))  # fmt: skip
    import s3fs

    s3fs.S3FileSystem().mkdir("bench")
    return "s3://bench/ds"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import tensorflow as tf

    from vsrdata.common.storage import cache_root
    from vsrdata.shards.reader import iter_samples
    from vsrdata.shards.torch_data import iter_consumer
    from vsrdata.vsr_models.data import training_stream
    from vsrdata.vsr_models.distribute import DistributedStep, make_strategy

    path = dataset(str(OUT / "input-formats"))
    url = s3_server()
    dataset(url)
    rng = np.random.default_rng(0)
    lr = tf.constant(rng.random((BATCH, 7, PATCH, PATCH, 3), dtype=np.float32))
    hr = tf.constant(rng.random((BATCH, PATCH * SCALE, PATCH * SCALE, 3), dtype=np.float32))
    step = DistributedStep(make_strategy("one-device"), "duf-16l", SCALE, BATCH)
    step(lr, hr)
    tf_stream = iter(training_stream(path, BATCH, format="tfrecord"))
    next(tf_stream)

    def endless(fmt: str) -> object:
        epoch = 0
        while True:
            yield from iter_consumer(path, "train", epoch=epoch, patch=PATCH, format=fmt)
            epoch += 1

    numpy_streams = {fmt: endless(fmt) for fmt in ("parquet", "webdataset")}
    import webdataset

    urls = sorted(str(p) for p in (OUT / "input-formats" / "webdataset" / "train").glob("*.tar"))

    def wds_read() -> int:
        pipeline = webdataset.WebDataset(urls, shardshuffle=False, empty_check=False)
        n = 0
        for _ in pipeline.decode("rgb8"):
            n += 1
            if n == READ:
                break
        return n

    def take(stream: object, n: int) -> int:
        for _ in range(n):
            next(stream)  # type: ignore[call-overload]
        return n

    cases = {
        "train, DUF-16L": lambda: (float(step(lr, hr)), BATCH)[1],
        "tf.data training_stream, tfrecord": lambda: take(tf_stream, READ // BATCH) * BATCH,
        "torch_dataset core, parquet": lambda: take(numpy_streams["parquet"], READ),
        "torch_dataset core, webdataset": lambda: take(numpy_streams["webdataset"], READ),
        "webdataset package, decode": wds_read,
    }
    try:
        import torch  # noqa: F401
        from torch.utils.data import DataLoader

        from vsrdata.shards import torch_dataset

        ds = torch_dataset(path, "train", patch=PATCH)
        loader = iter(DataLoader(ds, batch_size=BATCH, num_workers=2, persistent_workers=True))
        next(loader)

        def torch_read() -> int:
            nonlocal loader
            n = 0
            while n < READ:
                try:
                    n += len(next(loader)[0])
                except StopIteration:
                    loader = iter(DataLoader(ds, batch_size=BATCH, num_workers=2))
            return n

        cases["torch DataLoader, 2 workers, parquet"] = torch_read
    except ImportError:
        pass
    seconds, counts = alternate(cases, args.rounds)
    rate = {name: counts[name] / seconds[name] for name in cases}
    base = rate["train, DUF-16L"]
    rows = [[name, rate[name], rate[name] / base] for name in cases]

    def read_all(source: str) -> tuple[float, int]:
        began = time.perf_counter()
        n = sum(1 for _ in iter_samples(source, "train", format="parquet", decode=False))
        return time.perf_counter() - began, n

    local_s, n = read_all(path)
    shutil.rmtree(cache_root(url), ignore_errors=True)
    cold_s, _ = read_all(url)
    warm_s, _ = read_all(url)
    size = sum(p.stat().st_size for p in (OUT / "input-formats" / "parquet").rglob("*.parquet"))
    rows += [["read train parquet, local disk", n / local_s, "-"],
             ["read train parquet, local S3 into an empty cache", n / cold_s, "-"],
             ["read train parquet, S3 URL with a warm cache", n / warm_s, "-"]]  # fmt: skip
    report("Input formats", ["case", "samples/s", "ratio to training"], rows,
           {"batch": BATCH, "patch": PATCH, "rounds": args.rounds,
            "parquet MB": round(size / 2**20, 1),
            "S3 cold MB/s": round(size / 2**20 / cold_s, 1)})  # fmt: skip


if __name__ == "__main__":
    main()
