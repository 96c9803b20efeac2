"""The ``vsrdata`` command: the Typer app and its shared helpers in :mod:`.app` (with the
dataset commands: synth, build, info), one module per command group (:mod:`.crawl`,
:mod:`.train`, :mod:`.evaluate`), each registering its commands on the one app.
"""

from vsrdata.cli import crawl, evaluate, serve, train  # noqa: F401  (they register their commands)
from vsrdata.cli.app import app, main, run

__all__ = ["app", "main", "run"]
