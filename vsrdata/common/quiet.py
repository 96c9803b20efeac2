"""TensorFlow's start-up chatter, kept off a user's console.

Importing TensorFlow 2.16+ prints, through absl before any setting applies and twice (once
per native library it loads), lines such as::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1795309822.145395 7944 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1795309822.149904 7944 cudart_stub.cc:31] Could not find cuda drivers ...

``TF_CPP_MIN_LOG_LEVEL`` does not reach them, so :func:`import_tensorflow` points the
process's C-level stderr (file descriptor 2) at a temporary file while TensorFlow loads,
then writes back every line that is not such a notice: a real error still reaches the user.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Notices TensorFlow and its libraries print while loading on a machine without a GPU.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|cudart_stub\.cc|Could not find cuda drivers"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|cuInit: UNKNOWN ERROR|failed call to cuInit"
    r"|Attempting to register factory for plugin"
)


@contextmanager
def filtered_stderr(noise: re.Pattern[str] = NOISE) -> Iterator[None]:
    """Hold everything written to file descriptor 2 (Python's and C's) inside the block, then
    write back the lines that ``noise`` does not match."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not noise.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_tensorflow(verbose: bool = False) -> Any:
    """``import tensorflow`` without its start-up notices (all of them with ``verbose``).

    Later ``import tensorflow`` statements find the module loaded and print nothing.
    """
    if verbose or "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with filtered_stderr():
        import tensorflow
    return tensorflow
