"""TensorFlow's start-up chatter, kept off a user's console.

Importing TensorFlow 2.16+ prints, through absl before any setting applies and twice (once
per native library it loads), lines such as::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1795309822.145395 7944 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1795309822.149904 7944 cudart_stub.cc:31] Could not find cuda drivers ...

``TF_CPP_MIN_LOG_LEVEL`` does not reach them, so :func:`import_tensorflow` points the
process's C-level stderr (file descriptor 2) at a pipe while TensorFlow loads; a thread passes
on, as they come, the lines that are not such notices, so a real error still reaches the
user, even one printed just before the process aborts.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Notices TensorFlow and its libraries print while loading on a machine without a GPU.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|cudart_stub\.cc|Could not find cuda drivers|failed call to cuInit"
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
    """Inside the block, pass on what is written to file descriptor 2 (by Python or C) except
    the lines that ``noise`` matches."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:  # until the last write end closes
                if not noise.search(line.decode("utf-8", errors="replace")):
                    os.write(saved, line)

    thread = threading.Thread(target=forward, name="stderr filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's write end: the thread reads to the end
        thread.join(timeout=10)
        os.close(saved)


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


log = logging.getLogger(__name__)
_ONEDNN_WARNED = False


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None: cannot tell)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def warn_if_onednn_off() -> None:
    """Say once (a warning on the ``vsrdata`` logger: stderr unless logging is set up) when
    oneDNN is off without the user having asked for it: that
    happens when TensorFlow was imported before vsrdata on a CPU without AVX-512 VNNI."""
    global _ONEDNN_WARNED
    if _ONEDNN_WARNED or os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") in {"0", "false", "False"}:
        return
    _ONEDNN_WARNED = True
    import tensorflow as tf

    if onednn_enabled() is False and not tf.config.list_physical_devices("GPU"):
        log.warning(
            "vsrdata: TensorFlow's oneDNN CPU kernels are off in this process (TensorFlow was "
            "imported before vsrdata on a CPU without AVX-512 VNNI); on the CPU, DUF runs about "
            "2x faster with them: import vsrdata first or set TF_ENABLE_ONEDNN_OPTS=1"
        )
