"""``vsrdata serve``: a web page to upscale videos, watch training runs and read reports.

:func:`create_app` builds the FastAPI application from a :class:`ServeConfig`; jobs live in
SQLite (:mod:`vsrdata.serve.store`) and run in worker processes (:mod:`vsrdata.serve.worker`).
"""

from typing import Any

from vsrdata.serve.config import Limits, ServeConfig

__all__ = ["Limits", "ServeConfig", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`vsrdata.serve.app.create_app` (imported on use: FastAPI is an extra)."""
    from vsrdata.serve.app import create_app as create

    return create(*args, **kwargs)
