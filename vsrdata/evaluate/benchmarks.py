"""The standard VSR test sets: where their ground truth lies in the official releases, which
clips they hold, and the protocols published tables score them with.

``--benchmark NAME DIR`` finds the GT clip folders under ``DIR`` (the release's own folder,
or the ``GT`` folder BasicSR and mmagic prepare), checks the layout before anything is
scored (a message names what is missing), and scores the clips with the set's default
protocol unless ``--protocol`` names another of its protocols.

- ``vid4``: calendar (41 frames), city (34), foliage (49), walk (47). Protocol ``standard``
  (Y, no border, all frames: BasicVSR, EDVR) or ``duf`` (Y, 8 px, 2 end frames out: DUF).
- ``reds4``: REDS train clips 000, 011, 015, 020, 100 frames of 1280×720 each. ``rgb``.
- ``udm10``: 10 clips. ``standard`` (published on BD only).
- ``spmcs``: 30 clips. ``standard``.
- ``vimeo90k-t``: the 7,824 septuplets of ``sep_testlist.txt``, 448×256. ``center``
  (Y, no border, the centre frame ``im4``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vsrdata.errors import InputError, UsageError


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    gt_folders: tuple[str, ...]  # where the clip folders may lie, relative to DIR, in order
    protocols: tuple[str, ...]  # the first is the default
    clips: dict[str, int | None] = field(default_factory=dict)  # name -> frames (None: any)
    clip_count: int | None = None  # when the names are not fixed here: how many
    list_file: str | None = None  # Vimeo-90K-T: the official list of test clips

    def locate(self, root: str | Path) -> tuple[Path, list[str]]:
        """(the folder the clip ids are relative to, the clip ids), after checking that every
        clip is there with its frames. Raises :class:`InputError` naming what is missing."""
        from vsrdata.preprocess.video import _frame_files

        root = Path(root)
        if not root.is_dir():
            raise InputError(f"--benchmark {self.name}: {root} is not a folder")
        if self.list_file is not None:
            return self._locate_listed(root)
        for rel in self.gt_folders:
            base = root / rel
            if not base.is_dir():
                continue
            found = sorted(d.name for d in base.iterdir()
                           if d.is_dir() and _frame_files(d) is not None)  # fmt: skip
            if not found:
                continue
            wanted = list(self.clips) or found
            missing = [c for c in wanted if c not in found]
            if missing:
                raise InputError(f"--benchmark {self.name}: {base} lacks the clip folders "
                                 f"{', '.join(missing)} (found {', '.join(found)})")  # fmt: skip
            if self.clip_count is not None and len(found) != self.clip_count:
                raise InputError(f"--benchmark {self.name}: {base} holds {len(found)} clip "
                                 f"folders; the set has {self.clip_count}")  # fmt: skip
            for clip, frames in self.clips.items():
                have = len(_frame_files(base / clip) or [])
                if frames is not None and have != frames:
                    raise InputError(f"--benchmark {self.name}: {base / clip} holds {have} "
                                     f"frames; the set's clip has {frames}")  # fmt: skip
            return base, wanted
        tried = ", ".join(str(root / r) if r else str(root) for r in self.gt_folders)
        raise InputError(f"--benchmark {self.name}: no clip folders of frames found in "
                         f"{tried}")  # fmt: skip

    def _locate_listed(self, root: Path) -> tuple[Path, list[str]]:
        assert self.list_file is not None
        lists = [p for p in (root / self.list_file, root.parent / self.list_file) if p.is_file()]
        if not lists:
            raise InputError(f"--benchmark {self.name}: {root / self.list_file} is missing "
                             "(the official list of test clips)")  # fmt: skip
        ids = [line.strip() for line in lists[0].read_text().splitlines() if line.strip()]
        for rel in self.gt_folders:
            base = root / rel
            if base.is_dir() and ids and (base / ids[0]).is_dir():
                missing = [c for c in ids if not (base / c).is_dir()]
                if missing:
                    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                    raise InputError(f"--benchmark {self.name}: {base} lacks "
                                     f"{', '.join(missing[:5])}{more} of "
                                     f"{lists[0].name}")  # fmt: skip
                short = [c for c in ids if len(list((base / c).glob("im*.png"))) != 7]
                if short:
                    raise InputError(f"--benchmark {self.name}: {base / short[0]} does not hold "
                                     "the 7 frames im1.png ... im7.png")  # fmt: skip
                return base, ids
        example = ids[0] if ids else "?"
        raise InputError(f"--benchmark {self.name}: no folder of {lists[0].name}'s clips "
                         f"(like {example}) in {root}/sequences or {root}")  # fmt: skip


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("vid4", "Vid4", ("GT", "HR", ""), ("standard", "duf"),
                  {"calendar": 41, "city": 34, "foliage": 49, "walk": 47}),
        Benchmark("reds4", "REDS4", ("GT", "train_sharp", "train/train_sharp", ""), ("rgb",),
                  {"000": 100, "011": 100, "015": 100, "020": 100}),
        Benchmark("udm10", "UDM10", ("GT", ""), ("standard",), clip_count=10),
        Benchmark("spmcs", "SPMCS", ("GT", ""), ("standard",), clip_count=30),
        Benchmark("vimeo90k-t", "Vimeo-90K-T", ("sequences", ""), ("center",),
                  list_file="sep_testlist.txt"),
    )
}  # fmt: skip


def benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise UsageError(f"--benchmark must be one of {', '.join(BENCHMARKS)}, got {name!r}")
    return BENCHMARKS[name]
