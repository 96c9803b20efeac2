"""``python -m vsrdata.cli``: the ``vsrdata`` command."""

from vsrdata.cli import main

main()
