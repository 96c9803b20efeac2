"""Datasets in object storage, against a local S3 server (moto's server mode) started here:
``vsrdata build --out s3://...`` writes the same shards as a local build, through temporary
keys and with the index last; a build killed mid-way resumes; info, the readers, eval and
train read from the bucket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vsrdata.shards.index import load_index
from vsrdata.shards.reader import iter_samples

# the arguments of tests.helpers.small_config, so the bucket's shards must equal `built`'s
BUILD_ARGS = ["--patch", "16", "--test-stride", "4", "--split", "0.5,0.25,0.25",
              "--group-size", "2", "--workers", "1", "--shard-size", "1GB"]  # fmt: skip


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    deadline = time.monotonic() + 30
    while True:  # start() returns before the server listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
           "VSRDATA_CACHE": str(tmp_path_factory.mktemp("vsrdata-cache"))}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # an instance made for another endpoint
    # moto keeps its buckets per process: a second set-up of this fixture in one xdist worker
    # (its tests need not run together) starts from an empty server all the same
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset",
                                                  method="POST"), timeout=30).close()  # fmt: skip
    fs = s3fs.S3FileSystem()
    fs.mkdir("bucket")
    try:
        yield fs
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vsrdata", *args]


def keys(fs: Any, prefix: str) -> dict[str, Any]:
    fs.invalidate_cache()
    # one listing, with each object's ETag (a separate info() per key races with the build
    # moving its temporary keys away)
    return {k: v.get("ETag") for k, v in fs.find(prefix, detail=True).items()}


def unit_stats(fs: Any, root: str) -> dict[str, Any]:
    """The finished units' stats objects (not the plan, not a temporary key)."""
    return {k: v for k, v in keys(fs, f"{root}/_units").items()
            if k.endswith(".json") and not k.endswith("/plan.json")}  # fmt: skip


def test_build_to_s3_writes_what_a_local_build_writes_and_everything_reads_it(
    s3: Any, clips_dir: Path, built: Path, tmp_path: Path
) -> None:
    url = "s3://bucket/ds"
    res = subprocess.run(cli("build", str(clips_dir), "--out", url, *BUILD_ARGS),
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    stored = keys(s3, "bucket/ds")
    assert "bucket/ds/dataset.json" in stored and "bucket/ds/README.md" in stored
    assert not [k for k in stored if ".tmp" in k]
    remote, local = load_index(url), load_index(built)
    assert [(s["path"], s["sha256"]) for s in remote["shards"]] == [
        (s["path"], s["sha256"]) for s in local["shards"]]  # fmt: skip
    assert all(f"bucket/ds/{s['path']}" in stored for s in remote["shards"])
    info = subprocess.run(cli("info", url), capture_output=True, text=True, timeout=120)
    assert info.returncode == 0 and "samples by split and category" in info.stdout
    for split in ("val", "test"):
        a = [s["sample_id"] for s in iter_samples(url, split, decode=False)]
        assert a == [s["sample_id"] for s in iter_samples(built, split, decode=False)]
    from vsrdata.shards.reader import read

    lr, hr = next(iter(read(url, "train").as_numpy_iterator()))
    assert lr.shape == (7, 16, 16, 3) and hr.shape == (64, 64, 3)
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.run import EvalConfig, evaluate

    doc = evaluate(EvalConfig(dataset=url), make_protocol("duf"))
    reference = evaluate(EvalConfig(dataset=str(built)), make_protocol("duf"))
    assert doc["overall"]["psnr:bicubic"] == reference["overall"]["psnr:bicubic"]
    # training reads the bucket (in this process: the CLI's train runs in test_train.py)
    from vsrdata.vsr_models.config import TrainConfig
    from vsrdata.vsr_models.train import train

    run = tmp_path / "run"
    result = train(TrainConfig.from_options(dataset=url, out=str(run), model="tiny-test",
                                            steps=2, batch_size=2, patch=8, val_every=2,
                                            val_samples=2, calibrate_batches=0))  # fmt: skip
    assert result.steps == 2 and (run / "model.keras").is_file()


@pytest.mark.slow
def test_an_s3_build_killed_mid_way_resumes(s3: Any, clips_dir: Path, tmp_path: Path) -> None:
    from tests.helpers import small_config
    from vsrdata.preprocess.build import build

    url = "s3://bucket/killed"
    one = [a if a != "2" else "1" for a in BUILD_ARGS]  # one clip per unit: ten units
    args = cli("build", str(clips_dir), "--out", url, *one)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and len(unit_stats(s3, "bucket/killed")) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = unit_stats(s3, "bucket/killed")
    assert 2 <= len(finished) < 10, "the kill must land mid-build"
    assert all(finished.values())  # each listed with its ETag
    assert "bucket/killed/dataset.json" not in keys(s3, "bucket/killed")
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming" in rerun.stderr
    after = keys(s3, "bucket/killed")
    for key, etag in finished.items():  # finished units were not redone
        assert after[key] == etag
    assert not [k for k in after if ".tmp" in k]
    reference = tmp_path / "reference"
    build(small_config(clips_dir, reference, group_size=1))
    assert [(s["path"], s["sha256"]) for s in load_index(url)["shards"]] == [
        (s["path"], s["sha256"]) for s in load_index(reference)["shards"]]  # fmt: skip


@pytest.mark.slow
def test_a_ray_build_writes_to_the_bucket_from_every_worker(
    s3: Any, clips_dir: Path, built: Path, tmp_path: Path
) -> None:
    """Ray workers upload their own units (no shared disk is needed): the bucket ends up
    with the bytes of the local single-process build. (This is also the test that the Ray
    engine gives the bytes of the process pool: a unit runs the same code on either.)"""
    ray = pytest.importorskip("ray")
    from tests.helpers import small_config
    from vsrdata.preprocess.build import build

    url = "s3://bucket/ray"
    try:
        build(small_config(clips_dir, url, engine="ray", workers=2))
    finally:
        ray.shutdown()
    assert [(s["path"], s["sha256"]) for s in load_index(url)["shards"]] == [
        (s["path"], s["sha256"]) for s in load_index(built)["shards"]]  # fmt: skip
    assert not [k for k in keys(s3, "bucket/ray") if ".tmp" in k]
