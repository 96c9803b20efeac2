"""Published tables: released results as columns, the standard test sets' layouts, the
confidence of a gain, and report.tex."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import run_cli, write_clip
from vsrdata.common.metrics import PSNR_CAP
from vsrdata.errors import InputError
from vsrdata.evaluate.protocol import make_protocol
from vsrdata.evaluate.run import EvalConfig, evaluate
from vsrdata.evaluate.stats import bootstrap_interval, paired_tests
from vsrdata.preprocess.degrade import degrade, imresize


def frames_of(folder: Path) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(folder.iterdir())]


def frames_of_file(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def save(folder: Path, images: list[np.ndarray], start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(images):
        cv2.imwrite(str(folder / f"{start + i:08d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="module")
def gt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gt")
    write_clip(root / "alpha", 9, seed=1)
    write_clip(root / "beta", 9, seed=2)
    return root


def run(gt: Path, results: dict[str, Path], protocol: str = "standard", **kw: object) -> dict:
    config = EvalConfig(videos=str(gt), results=tuple(f"{k}={v}" for k, v in results.items()),
                        scale=4, degradation="bd", **kw)  # type: ignore[arg-type]  # fmt: skip
    return evaluate(config, make_protocol(protocol))


def test_ground_truth_as_results_scores_capped_psnr_and_ssim_one(gt: Path) -> None:
    doc = run(gt, {"oracle": gt})
    assert doc["models"] == ["bicubic", "oracle"]
    for clip in doc["clips"]:
        assert set(clip["per_frame"]["psnr:oracle"]) == {PSNR_CAP}
        assert set(clip["per_frame"]["ssim:oracle"]) == {1.0}
    assert doc["overall"]["psnr:oracle"] == PSNR_CAP


def test_results_made_by_vsrdata_bicubic_are_exactly_the_bicubic_column(
    gt: Path, tmp_path: Path
) -> None:
    for clip in ("alpha", "beta"):
        hr = frames_of(gt / clip)
        save(tmp_path / "bic" / clip, [imresize(degrade(f, "bd", 4), 4) for f in hr])
    doc = run(gt, {"mine": tmp_path / "bic"}, baseline="mine")
    for clip in doc["clips"]:
        frames = clip["per_frame"]
        assert frames["psnr:mine"] == frames["psnr:bicubic"]
        assert frames["ssim:mine"] == frames["ssim:bicubic"]
    mine = next(c for c in doc["comparisons"] if c["model"] == "mine")
    assert mine["gain"] == 0 and mine["ci95"] == [0.0, 0.0] and mine["wilcoxon_p"] == 1.0


def test_missing_shuffled_and_misnumbered_frames_are_errors(gt: Path, tmp_path: Path) -> None:
    short = tmp_path / "short"
    shutil.copytree(gt, short)
    (short / "beta" / "00000004.png").unlink()
    with pytest.raises(InputError, match="clip beta: 8 output frames for 9"):
        run(gt, {"m": short})
    shuffled = tmp_path / "shuffled"
    shutil.copytree(gt, shuffled)
    files = sorted((shuffled / "alpha").iterdir())
    order = [0, 5, 1, 7, 3, 8, 2, 6, 4]
    images = [cv2.imread(str(f)) for f in files]
    for f, k in zip(files, order, strict=True):
        cv2.imwrite(str(f), images[k])
    with pytest.raises(InputError, match=r"clip alpha: the output frames match .* out of order"):
        run(gt, {"m": shuffled})
    shifted = tmp_path / "shifted"
    for clip in ("alpha", "beta"):  # numbered from 1 where the ground truth starts at 0
        hr = frames_of(gt / clip)
        save(shifted / clip, [hr[0], *hr[:-1]])
    with pytest.raises(InputError, match="shifted by -1 frame"):
        run(gt, {"m": shifted})
    with pytest.raises(InputError, match="no output frames for clip beta"):
        shutil.rmtree(short / "beta")
        run(gt, {"m": short})


def test_outputs_without_end_frames_or_border_follow_the_protocol(gt: Path, tmp_path: Path) -> None:
    trimmed, cropped = tmp_path / "trimmed", tmp_path / "cropped"
    for clip in ("alpha", "beta"):
        hr = frames_of(gt / clip)
        save(trimmed / clip, hr[2:-2], start=2)  # the DUF release leaves 2 out at each end
        save(cropped / clip, [f[8:-8, 8:-8] for f in hr])
    doc = run(gt, {"trimmed": trimmed, "cropped": cropped}, protocol="duf")
    assert doc["overall"]["psnr:trimmed"] == doc["overall"]["psnr:cropped"] == PSNR_CAP
    assert doc["clips"][0]["per_frame"]["frame"] == [2, 3, 4, 5, 6]
    with pytest.raises(InputError, match=r"5 output frames for 9 .*\(here 0\)"):
        run(gt, {"trimmed": trimmed}, protocol="standard")
    with pytest.raises(InputError, match="outputs are 80x64, the ground truth 96x80"):
        run(gt, {"cropped": cropped}, protocol="standard")


def test_a_constant_gain_has_a_zero_width_interval() -> None:
    gain, low, high = bootstrap_interval([np.full(n, 0.25) for n in (3, 7, 12)])
    assert gain == pytest.approx(0.25, abs=1e-12)
    assert high - low == pytest.approx(0.0, abs=1e-12) and low == pytest.approx(0.25, abs=1e-12)


def test_the_interval_covers_the_true_gain_at_about_the_nominal_rate() -> None:
    """200 simulated evaluations of 12 clips (a clip effect and frame noise around a true
    gain of 0.3 dB): the deterministic draws make this exact; a 95% interval that covered
    less than 88% or more than 99.5% of them would be mis-built."""
    rng = np.random.default_rng(2026)
    covered = 0
    for trial in range(200):
        clips = [0.3 + rng.normal(0, 0.2) + rng.normal(0, 0.5, rng.integers(5, 30))
                 for _ in range(12)]  # fmt: skip
        _, low, high = bootstrap_interval(clips, replicates=1000, seed=trial)
        covered += low <= 0.3 <= high
    assert 0.88 <= covered / 200 <= 0.995, covered


def test_paired_tests_over_clips() -> None:
    t = paired_tests([0.4, 0.2, 0.5, 0.3, 0.1, 0.6, 0.2, 0.3])
    assert (t["clips_better"], t["clips_worse"]) == (8, 0)
    assert t["sign_p"] == pytest.approx(2 / 256) and t["wilcoxon_p"] == pytest.approx(2 / 256)
    assert paired_tests([0.0, 0.0])["wilcoxon_p"] == 1.0


def vid4(root: Path, frames: dict[str, int] | None = None) -> Path:
    counts = frames or {"calendar": 41, "city": 34, "foliage": 49, "walk": 47}
    for i, (clip, n) in enumerate(counts.items()):
        write_clip(root / "GT" / clip, n, size=(64, 64), seed=i)
    return root


def test_benchmark_layouts_are_recognized_from_their_official_naming(tmp_path: Path) -> None:
    from vsrdata.evaluate.benchmarks import benchmark

    base, ids = benchmark("vid4").locate(vid4(tmp_path / "Vid4"))
    assert base == tmp_path / "Vid4" / "GT" and ids == ["calendar", "city", "foliage", "walk"]
    with pytest.raises(InputError, match="lacks the clip folders walk"):
        benchmark("vid4").locate(vid4(tmp_path / "v2", {"calendar": 41, "city": 34,
                                                          "foliage": 49}))  # fmt: skip
    with pytest.raises(InputError, match="city holds 30 frames; the set's clip has 34"):
        benchmark("vid4").locate(vid4(tmp_path / "v3", {"calendar": 41, "city": 30,
                                                          "foliage": 49, "walk": 47}))  # fmt: skip
    reds = tmp_path / "REDS" / "train_sharp"
    for clip in ("000", "011", "015", "020", "001"):
        write_clip(reds / clip, 100, size=(16, 16))
    base, ids = benchmark("reds4").locate(tmp_path / "REDS")
    assert base == reds and ids == ["000", "011", "015", "020"]
    vimeo = tmp_path / "vimeo_septuplet"
    (vimeo / "sep_testlist.txt").parent.mkdir(parents=True)
    (vimeo / "sep_testlist.txt").write_text("00001/0266\n00002/0010\n")
    for clip in ("00001/0266", "00002/0010"):
        write_clip(vimeo / "sequences" / clip, 7, size=(16, 16), name="im{}.png")
        for t in range(6, -1, -1):  # im1 ... im7
            (vimeo / "sequences" / clip / f"im{t}.png").rename(
                vimeo / "sequences" / clip / f"im{t + 1}.png")  # fmt: skip
    base, ids = benchmark("vimeo90k-t").locate(vimeo)
    assert base == vimeo / "sequences" and ids == ["00001/0266", "00002/0010"]
    (vimeo / "sequences" / "00002" / "0010" / "im7.png").unlink()
    with pytest.raises(InputError, match="0010 does not hold the 7 frames"):
        benchmark("vimeo90k-t").locate(vimeo)
    with pytest.raises(InputError, match=r"sep_testlist\.txt is missing"):
        benchmark("vimeo90k-t").locate(tmp_path / "Vid4")
    with pytest.raises(InputError, match="holds 4 clip folders; the set has 10"):
        benchmark("udm10").locate(tmp_path / "Vid4")


def test_eval_cli_on_a_benchmark_writes_the_table_with_intervals(tmp_path: Path) -> None:
    root = vid4(tmp_path / "Vid4")
    oracle = root / "GT"
    res = run_cli("eval", "--benchmark", "vid4", str(root), "--results", f"oracle={oracle}",
                  "--scale", "4", "--degradation", "bi",
                  "--report", str(tmp_path / "rep"))  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "95% bootstrap interval" in res.stdout and "standard: Y" in res.stdout
    doc = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert doc["benchmark"] == "vid4" and doc["protocol"]["name"] == "standard"
    assert [c["clip_id"] for c in doc["clips"]] == ["calendar", "city", "foliage", "walk"]
    assert sum(len(c["per_frame"]["frame"]) for c in doc["clips"]) == 171
    lo, hi = doc["overall"]["ci:oracle"]
    assert lo <= doc["overall"]["gain:oracle"] <= hi
    tex = (tmp_path / "rep" / "report.tex").read_text()
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert [line.split(" & ")[0] for line in body] == ["bicubic", "oracle"]
    assert tex.count("{") == tex.count("}") and "Vid4 (BIx4)" in tex
    assert r"\textbf{100.00}" in tex and r"\textbf{1.0000}" in tex
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<a href='000-calendar.worst.2-oracle.png'><img class='crop'" in page
    crop = cv2.imread(str(tmp_path / "rep" / "000-calendar.worst.2-oracle.crop.png"))
    full = cv2.imread(str(tmp_path / "rep" / "000-calendar.worst.2-oracle.png"))
    assert crop.shape == (64, 64, 3) and full.shape == (64, 64, 3)  # native resolution
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## Gains with 95% intervals" in md and "| oracle | bicubic |" in md
    bad = run_cli("eval", "--benchmark", "vid4", str(tmp_path / "nothing"))
    assert bad.returncode == 1 and "is not a folder" in bad.stderr


def test_compare_two_reports_of_the_same_clips(gt: Path, tmp_path: Path) -> None:
    from vsrdata.errors import UsageError
    from vsrdata.evaluate.compare import compare_reports, load_report
    from vsrdata.evaluate.report import write_report

    rng = np.random.default_rng(5)
    for name, sigma in (("mild", 2.0), ("strong", 6.0)):
        for clip in ("alpha", "beta"):
            noisy = [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8)
                     for f in frames_of(gt / clip)]  # fmt: skip
            save(tmp_path / name / clip, noisy)
        write_report(run(gt, {name: tmp_path / name}), tmp_path / f"rep-{name}")
    res = run_cli("compare", str(tmp_path / "rep-mild"), str(tmp_path / "rep-strong"),
                  "--out", str(tmp_path / "cmp"))  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert (doc["a"]["column"], doc["b"]["column"]) == ("mild", "strong")
    o = doc["overall"]
    assert o["difference"] < 0 and o["ci95"][1] < 0 and o["clips_worse"] == 2
    assert [abs(d["difference"]) for d in doc["disagreements"]] == sorted(
        (abs(d["difference"]) for d in doc["disagreements"]), reverse=True
    )
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "## Where they disagree most" in md
    worst = doc["disagreements"][0]
    assert [c["name"] for c in worst["crops"]] == ["ground truth", "A mild", "B strong"]
    crop = cv2.imread(str(tmp_path / "cmp" / worst["crops"][2]["crop"]))
    assert crop.shape == (80, 80, 3)  # the whole 96x80 frame is smaller than a crop's 128
    assert f"]({worst['crops'][2]['full']})" in md
    from vsrdata.common.metrics import psnr_ssim

    truth, b_frame = (frames_of_file(tmp_path / "cmp" / c["full"])
                      for c in (worst["crops"][0], worst["crops"][2]))  # fmt: skip
    assert psnr_ssim(b_frame, truth, 0, True)[0] == pytest.approx(worst["b"], abs=1e-9)
    mild = load_report(tmp_path / "rep-mild")
    other = write_report(run(gt, {}, protocol="duf"), tmp_path / "rep-duf")["json"]
    with pytest.raises(UsageError, match="different protocols"):
        compare_reports(mild, load_report(other))
    fewer = {**mild, "clips": mild["clips"][:1]}
    with pytest.raises(InputError, match=r"different clips .*beta"):
        compare_reports(fewer, mild)


def test_table_merges_reports_into_one_latex_table(gt: Path, tmp_path: Path) -> None:
    from vsrdata.evaluate.report import write_report

    write_report(run(gt, {"oracle": gt}), tmp_path / "a")
    config = EvalConfig(videos=str(gt), scale=4, degradation="bi")
    write_report(evaluate(config, make_protocol("standard")), tmp_path / "b")
    res = run_cli("table", str(tmp_path / "a"), str(tmp_path / "b"))
    assert res.returncode == 0, res.stderr
    tex = res.stdout
    assert tex.count(r"\multicolumn{2}{c}") == 2
    assert f"{gt.name} (BDx4)" in tex and f"{gt.name} (BIx4)" in tex
    rows = tex.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert [r.split(" & ")[0] for r in rows] == ["bicubic", "oracle"]
    assert rows[1].endswith(r"& -- & -- \\")  # oracle is not in the second report
    assert tex.count("{") == tex.count("}")


def test_a_large_set_shows_figures_for_the_clips_that_gain_least_and_most(tmp_path: Path) -> None:
    """Vimeo-90K-T has 7,824 clips: the report keeps the frame views and figures of only the
    25 clips where the column gains least and the 25 where it gains most."""
    from vsrdata.evaluate.report import write_report

    vimeo = tmp_path / "vimeo_septuplet"
    ids = [f"{i // 10 + 1:05d}/{i % 10 + 1:04d}" for i in range(60)]
    rng = np.random.default_rng(3)
    for i, clip in enumerate(ids):
        write_clip(vimeo / "sequences" / clip, 7, size=(64, 64), seed=i, name="im{:d}.png")
        for t in range(6, -1, -1):
            (vimeo / "sequences" / clip / f"im{t}.png").rename(
                vimeo / "sequences" / clip / f"im{t + 1}.png")  # fmt: skip
        centre = frames_of_file(vimeo / "sequences" / clip / "im4.png")
        noisy = np.clip(centre + rng.normal(0, 1 + i % 17, centre.shape), 0, 255)
        save(tmp_path / "out" / clip, [noisy.astype(np.uint8)])
    (vimeo / "sep_testlist.txt").write_text("\n".join(ids) + "\n")
    config = EvalConfig(videos=str(vimeo), benchmark="vimeo90k-t", scale=4, degradation="bi",
                        results=(f"noisy={tmp_path / 'out'}",))  # fmt: skip
    doc = evaluate(config, make_protocol("center"))
    assert [len(c["per_frame"]["frame"]) for c in doc["clips"]] == [1] * 60
    write_report(doc, tmp_path / "rep")
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Figures for 50 of 60 clips" in page
    gains = sorted((c["gain:noisy"], c["clip_id"]) for c in doc["clips"])
    expected = {cid for _, cid in gains[:25] + gains[-25:]}
    drawn = {p.name.split(".")[0] for p in (tmp_path / "rep").glob("*.psnr.png")}
    assert len(drawn) == 50
    assert {c["clip_id"] for n, c in enumerate(doc["clips"])
            if f"{n:03d}-{c['clip_id'].replace('/', '_')}" in drawn} == expected  # fmt: skip


def test_compare_runs_a_model_again_for_the_crops_of_its_frames(gt: Path, tmp_path: Path) -> None:
    from tests.tiny_model import build_tiny  # noqa: F401  (registers tiny-test)
    from vsrdata.common.metrics import psnr_ssim
    from vsrdata.evaluate.compare import compare_reports, write_disagreement_crops
    from vsrdata.evaluate.report import write_report
    from vsrdata.vsr_models.manifest import save_model
    from vsrdata.vsr_models.registry import build_model

    model = tmp_path / "tiny.keras"
    save_model(build_model("tiny-test", 4), model, {"model": "tiny-test", "scale": 4})
    config = EvalConfig(videos=str(gt), models=(f"tiny={model}",), scale=4, degradation="bd")
    write_report(evaluate(config, make_protocol("standard")), tmp_path / "rep")
    rep = json.loads((tmp_path / "rep" / "results.json").read_text())
    doc = compare_reports(rep, rep, "bicubic", "tiny", top=2)
    assert write_disagreement_crops(rep, rep, doc, tmp_path, most=2) == []
    for d in doc["disagreements"]:
        truth, out = (frames_of_file(tmp_path / d["crops"][k]["full"]) for k in (0, 2))
        assert psnr_ssim(out, truth, 0, True)[0] == pytest.approx(d["b"], abs=1e-9)
