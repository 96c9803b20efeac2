"""``python -m vsrdata``: the ``vsrdata`` command."""

from vsrdata.cli import main

main()
