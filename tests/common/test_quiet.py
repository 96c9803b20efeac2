"""TensorFlow's start-up notices are filtered from file descriptor 2; everything else passes."""

from __future__ import annotations

import subprocess
import sys


def test_noise_is_dropped_and_the_rest_passes_in_order() -> None:
    """In a fresh process: a pytest worker's other threads (progress bars, loggers of earlier
    tests) may write to the same file descriptor while the block runs."""
    code = ("import os, sys; from vsrdata.common.quiet import filtered_stderr\n"
            "with filtered_stderr():\n"
            "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called "
            "are written to STDERR\\n')\n"
            "    os.write(2, b'I0000 00:00:1.2 7 cudart_stub.cc:31] Could not find cuda "
            "drivers\\n')\n"
            "    os.write(2, b'a real error\\n')\n"
            "    print('from Python', file=sys.stderr)\n"
            "os.write(2, b'after\\n')\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert sorted(lines) == ["a real error", "after", "from Python"]
    assert lines[-1] == "after"  # everything from inside the block came out before it


def test_a_line_before_an_abort_still_reaches_the_user() -> None:
    code = ("import os; from vsrdata.common.quiet import filtered_stderr\n"
            "with filtered_stderr():\n"
            "    os.write(2, b'fatal: this CPU lacks AVX\\n'); import time; time.sleep(0.2)\n"
            "    os.abort()\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "fatal: this CPU lacks AVX" in res.stderr
