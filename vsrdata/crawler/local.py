"""A local folder of video files, under a license the user declares (``local.license``).

A file is a candidate when its path below ``local.dir`` contains the keyword (``*`` takes
all); it is copied into the crawl (hashed, then moved into place like a download), so the
catalog and the build treat it like any other clip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

from vsrdata.common.constants import VIDEO_EXTS
from vsrdata.common.files import sha256_file
from vsrdata.common.options import Option
from vsrdata.crawler.base import Source
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.download import Downloaded, safe_name
from vsrdata.crawler.licenses import normalize


class Local(Source):
    name = "local"
    default_url = ""
    interval = 0.0
    options: ClassVar[Mapping[str, Option]] = {
        "dir": Option("", "the folder of videos to import"),
        "license": Option("", "the license of its videos (e.g. cc-by, or the license's URL)"),
        "author": Option("", "their author, for the attribution"),
    }

    def unavailable(self) -> str | None:
        if not self.opts["dir"] or not Path(self.opts["dir"]).is_dir():
            return "give a folder: --source-option local.dir=DIR"
        if not normalize(self.opts["license"]):
            return "declare the folder's license: --source-option local.license=cc-by (e.g.)"
        return None

    def search(self, keyword: str) -> Iterator[ClipRow]:
        root = Path(self.opts["dir"])
        lic = normalize(self.opts["license"])
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.suffix.lower() not in VIDEO_EXTS or not path.is_file():
                continue
            if keyword != "*" and keyword.lower() not in rel.lower():
                continue
            author = self.opts["author"]
            declared = self.opts["license"]
            yield self.row(
                rel, keyword, title=path.stem, download_url=path.resolve().as_uri(),
                license_id=lic, license_url=declared if "://" in declared else "",
                author=author, attribution=f"{path.name}" + (f" by {author}" if author else ""),
                bytes=path.stat().st_size,
            )  # fmt: skip

    def fetch(self, clip: ClipRow, folder: Path) -> Downloaded:
        src = Path(self.opts["dir"]) / clip.source_id
        dest = folder / safe_name(clip.source_id, src.suffix)
        folder.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, part)
        sha = sha256_file(part)
        os.replace(part, dest)
        return Downloaded(dest, dest.stat().st_size, sha, "")
