"""License names and URLs as sources spell them -> normalised ids."""

from __future__ import annotations

import pytest

from vsrdata.crawler.licenses import DEFAULT_ALLOWED, normalize, requires_attribution


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CC BY-SA 4.0", "cc-by-sa"),  # Wikimedia LicenseShortName
        ("https://creativecommons.org/licenses/by/3.0/", "cc-by"),  # Archive licenseurl
        ("http://creativecommons.org/licenses/by-nc-sa/2.0/", "cc-by-nc-sa"),
        ("https://creativecommons.org/licenses/by-nc/4.0/deed.en", "cc-by-nc"),
        ("cc-by-nc-nd-4.0", "cc-by-nc-nd"),
        ("Creative Commons Attribution-ShareAlike 3.0 Unported", "cc-by-sa"),
        ("Creative Commons Attribution-NonCommercial 4.0", "cc-by-nc"),
        (
            "creativecommons",
            "",
        ),  # yt-dlp's `license` is "Creative Commons Attribution license (reuse allowed)"
        ("Creative Commons Attribution license (reuse allowed)", "cc-by"),
        ("CC0", "cc0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "cc0"),
        ("https://creativecommons.org/publicdomain/mark/1.0/", "pd"),
        ("Public domain", "pd"),
        ("PD-USGov", "pd"),
        ("Pixabay License", "pixabay"),
        ("Pexels License", "pexels"),
        ("GFDL", ""),
        ("All rights reserved", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize(text: str | None, expected: str) -> None:
    assert normalize(text) == expected


def test_defaults_admit_only_free_licenses() -> None:
    assert {"cc0", "pd", "cc-by", "cc-by-sa", "pixabay", "pexels"} == DEFAULT_ALLOWED
    assert requires_attribution("cc-by-sa") and not requires_attribution("cc0")
