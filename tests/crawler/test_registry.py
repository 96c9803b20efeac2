"""Every registered source keeps the contract the crawl relies on; registering one puts it here.

The behaviour of each source against a local service that answers like the real one is in
the source's own test (test_sources, test_answers, test_youtube, test_web_local, test_crawl);
the last test here fails for a source that no test crawls.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.helpers import FakeTime, session
from vsrdata.common.options import Option
from vsrdata.crawler.base import CrawlConfig, Source
from vsrdata.crawler.crawl import SOURCES


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_declares_itself(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = SOURCES[name]
    assert issubclass(cls, Source) and cls.name == name and cls.interval >= 0
    assert (sys.modules[cls.__module__].__doc__ or "").strip()  # what it reads, documented
    for key, opt in cls.options.items():
        assert isinstance(opt, Option) and opt.help and re.fullmatch(r"[a-z_]+", key)
    if cls.key_env:
        monkeypatch.delenv(cls.key_env, raising=False)
    cfg = CrawlConfig(out=str(tmp_path), keywords=("walking",), sources=(name,)).validate(SOURCES)
    assert cls.settings(cfg) == {key: opt.default for key, opt in cls.options.items()}
    assert all(isinstance(h, str) and h and "/" not in h for h in cls.hosts(cfg))
    source = cls(session(FakeTime()), cfg)
    why = source.unavailable()
    if cls.key_env:  # without its key a source says which variable to set
        assert why is not None and cls.key_env in why
    required = [k for k, o in cls.options.items() if o.default in ("", ())]
    if why is not None and required:  # ... and without its options, which to give
        assert any(f"{name}.{k}" in why for k in required), why


def test_every_source_is_crawled_by_a_test() -> None:
    text = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    tuples = re.findall(r'\(((?:"[a-z]+",\s*)+(?:"[a-z]+")?)\)', text)  # ("web",), ("a", "b")
    crawled = {name for t in tuples for name in re.findall(r'"([a-z]+)"', t)}
    crawled |= set(re.findall(r'^    "([a-z]+)": \("/', text, re.M))  # test_answers' SHAPES
    assert set(SOURCES) <= crawled, f"no test crawls {sorted(set(SOURCES) - crawled)}"
