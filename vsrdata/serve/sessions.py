"""Browser sessions: an unguessable id in a signed, HttpOnly cookie.

The id is 192 random bits; the signature is HMAC-SHA256 under a key kept in the server's data
folder (created once, mode 0600), so a forged or edited cookie is simply a new session and
sessions survive a restart. Nothing else is stored in the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

COOKIE = "vsrdata_session"


def load_key(folder: Path) -> bytes:
    """The signing key in ``folder/cookie.key``, made on first use."""
    path = Path(folder) / "cookie.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _signature(key: bytes, sid: str) -> str:
    return hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()[:32]


def new_session(key: bytes) -> tuple[str, str]:
    """(session id, cookie value)."""
    sid = secrets.token_urlsafe(24)
    return sid, f"{sid}.{_signature(key, sid)}"


def verify(key: bytes, cookie: str | None) -> str | None:
    """The session id of a cookie value signed with ``key``; None for anything else."""
    if not cookie or cookie.count(".") != 1:
        return None
    sid, sig = cookie.split(".")
    if len(sid) != 32 or not hmac.compare_digest(sig, _signature(key, sid)):
        return None
    return sid
