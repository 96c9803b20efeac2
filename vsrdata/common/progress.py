"""How long-running work reports progress to whoever shows it (the CLI's bars, a web page).

``EventFn(kind, value)``: the work calls it with an event kind (``"clips"``, ``"frames"``, a
clip id ...) and a value; the caller decides how to show it. Each command documents its kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EventFn = Callable[[str, Any], None]
