"""License normalisation: the many ways sources spell a license -> one short id.

Ids (version-free; the exact license URL is kept beside them in the catalog):

| id | meaning | attribution required |
|---|---|---|
| ``cc0`` | Creative Commons Zero (public domain dedication) | no |
| ``pd`` | public domain (marked, expired, or government work) | no |
| ``cc-by`` | Creative Commons Attribution | yes |
| ``cc-by-sa`` | Creative Commons Attribution-ShareAlike | yes |
| ``cc-by-nc`` / ``cc-by-nc-sa`` | the same, non-commercial | yes |
| ``cc-by-nd`` / ``cc-by-nc-nd`` | the same, no derivatives | yes |
| ``pixabay`` | the Pixabay Content License | no (credit appreciated) |
| ``pexels`` | the Pexels License | no (credit appreciated) |

Anything else normalises to ``""`` (unknown), which no allow-list admits.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_ALLOWED", "KNOWN", "normalize", "requires_attribution"]

KNOWN = (
    "cc0",
    "pd",
    "cc-by",
    "cc-by-sa",
    "cc-by-nc",
    "cc-by-nc-sa",
    "cc-by-nd",
    "cc-by-nc-nd",
    "pixabay",
    "pexels",
)
# Free for any use including derivatives and commercial: what `--licenses` admits by default.
DEFAULT_ALLOWED = frozenset({"cc0", "pd", "cc-by", "cc-by-sa", "pixabay", "pexels"})
_NO_ATTRIBUTION = frozenset({"cc0", "pd", "pixabay", "pexels"})


def _cc_id(parts: str) -> str | None:
    """'by-nc-sa' (any order, any separators) -> 'cc-by-nc-sa'."""
    tokens = set(re.findall(r"\b(by|nc|nd|sa)\b", parts))
    if "by" not in tokens or ("nd" in tokens and "sa" in tokens):
        return None
    return "cc-" + "-".join(t for t in ("by", "nc", "nd", "sa") if t in tokens)


def normalize(text: str | None) -> str:
    """A license id from a name or URL as sources give it; ``""`` when not recognised.

    >>> normalize("CC BY-SA 4.0"), normalize("https://creativecommons.org/licenses/by/3.0/")
    ('cc-by-sa', 'cc-by')
    >>> normalize("Public domain"), normalize("http://creativecommons.org/publicdomain/zero/1.0/")
    ('pd', 'cc0')
    """
    if not text:
        return ""
    t = text.strip().lower()
    if "pixabay" in t:
        return "pixabay"
    if "pexels" in t:
        return "pexels"
    if "publicdomain/zero" in t or re.search(r"\bcc[ -_]?0\b|\bcc[ -_]?zero\b", t):
        return "cc0"
    if "publicdomain/mark" in t or re.search(r"public[ -_]?domain|\bpd\b|\bpdm\b", t):
        return "pd"
    url = re.search(r"creativecommons\.org/licenses/([a-z-]+)", t)
    if url:
        return _cc_id(url.group(1)) or ""
    named = re.search(
        r"\b(?:cc|creative commons)[ -_]?((?:by|nc|nd|sa)(?:[ -_]+(?:by|nc|nd|sa))*)", t
    )
    if named:
        return _cc_id(named.group(1)) or ""
    if "attribution" in t and "creative commons" in t:
        words = t.replace("noncommercial", "nc").replace("non-commercial", "nc")
        words = words.replace("sharealike", "sa").replace("share-alike", "sa")
        words = words.replace("noderivatives", "nd").replace("noderivs", "nd")
        return _cc_id("by " + words) or ""
    return ""


def requires_attribution(license_id: str) -> bool:
    """Whether reusing a clip under this license legally requires crediting its author."""
    return license_id not in _NO_ATTRIBUTION
