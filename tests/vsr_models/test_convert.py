"""Importing the official DUF release's parameter files (HDF5, TF1 variable names)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

from tests.helpers import run_cli  # noqa: E402
from vsrdata.errors import InputError  # noqa: E402
from vsrdata.vsr_models.convert import convert_official, decode_key, encode_name  # noqa: E402
from vsrdata.vsr_models.registry import build_model  # noqa: E402

BN = ("gamma", "beta", "moving_mean", "moving_variance")


def official_names(layer: str, dense_blocks: int) -> list[str]:
    """The release's variable names of one of our layers (written from its test.py/nets.py)."""
    fixed = {"stem": "conv1", "final_bn": "fbn1", "final_conv": "conv2", "res_conv1": "rconv1",
             "res_conv2": "rconv2", "filter_conv1": "fconv1", "filter_conv2": "fconv2"}  # fmt: skip
    if layer in fixed:
        name = fixed[layer]
    else:
        block, part = layer.split("_")
        i = int(block[5:]) if block.startswith("dense") else dense_blocks + int(block[6:])
        name = f"R{part[:-1]}{i}{'a' if part[-1] == '1' else 'b'}"
    weights = BN if "bn" in name else ("W", "b")
    return [f"G/{name}/{w}:0" for w in weights]


def write_release_file(model: object, path: Path, dense_blocks: int) -> None:
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        group = f.create_group("params")
        group[encode_name("G/filter_localexpand:0")] = np.eye(25).reshape(5, 5, 1, 25)
        for layer in model.layers:  # type: ignore[attr-defined]
            if not layer.get_weights():
                continue
            for name, w in zip(official_names(layer.name, dense_blocks), layer.get_weights(),
                               strict=False):  # fmt: skip
                value = rng.normal(size=w.shape).astype(np.float32) * 0.05
                if name.endswith("moving_variance:0"):
                    value = np.abs(value) + 0.5
                group[encode_name(name)] = value


def test_key_encoding() -> None:
    assert decode_key("G_Rbn1a_moving__mean:0") == "G/Rbn1a/moving_mean:0"
    assert encode_name("G/Rbn12b/moving_variance:0") == "G_Rbn12b_moving__variance:0"


@pytest.mark.parametrize(("variant", "scale", "blocks"), [("duf-16l", 2, 3), ("duf-28l", 4, 9)])
def test_release_file_imports_every_parameter(
    tmp_path: Path, variant: str, scale: int, blocks: int
) -> None:
    template = build_model(variant, scale)
    path = tmp_path / "params.h5"
    write_release_file(template, path, blocks)
    model = convert_official(path)
    assert model.name == f"{variant}-x{scale}"
    with h5py.File(path, "r") as f:
        stored = {decode_key(k): np.asarray(v) for k, v in f["params"].items()}
    conv = model.get_layer("reduce1_conv2").get_weights()
    np.testing.assert_array_equal(conv[0], stored[f"G/Rconv{blocks + 1}b/W:0"])
    bn = model.get_layer("final_bn").get_weights()
    np.testing.assert_array_equal(bn[3], stored["G/fbn1/moving_variance:0"])
    np.testing.assert_array_equal(model.get_layer("filter_conv2").get_weights()[1],
                                  stored["G/fconv2/b:0"])  # fmt: skip


def test_wrong_or_incomplete_files_are_refused(tmp_path: Path) -> None:
    template = build_model("duf-16l", 2)
    path = tmp_path / "params.h5"
    write_release_file(template, path, 3)
    with h5py.File(path, "a") as f:
        del f["params"][encode_name("G/fconv1/b:0")]
    with pytest.raises(InputError, match=r"lacks parameters for filter_conv1\[1\]"):
        convert_official(path)
    with h5py.File(path, "a") as f:
        f["params"][encode_name("G/fconv1/b:0")] = np.zeros(7, np.float32)
    with pytest.raises(InputError, match=r"G/fconv1/b:0 has shape \(7,\)"):
        convert_official(path)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="cannot read"):
        convert_official(tmp_path / "junk.h5")


@pytest.mark.slow
def test_cli_writes_a_loadable_model(tmp_path: Path) -> None:
    path = tmp_path / "params_16L_x2.h5"
    write_release_file(build_model("duf-16l", 2), path, 3)
    out = tmp_path / "duf.keras"
    res = run_cli("convert-duf", str(path), "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    import keras

    loaded = keras.models.load_model(out)
    x = np.random.default_rng(1).random((1, 7, 6, 6, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), convert_official(path)(x).numpy(), atol=1e-6)
    from vsrdata.vsr_models.manifest import read_manifest

    manifest = read_manifest(out)
    assert manifest is not None and (manifest["model"], manifest["scale"]) == ("duf-16l", 2)
    assert manifest["frames"] == 7 and manifest["degradation"] == "bd"
