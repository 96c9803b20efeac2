"""TensorFlow's start-up notices are filtered from file descriptor 2; everything else passes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vsrdata.common.quiet import filtered_stderr


def test_noise_is_dropped_and_the_rest_passes_in_order(capfd: pytest.CaptureFixture[str]) -> None:
    with filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
                    b"written to STDERR\n")  # fmt: skip
        os.write(2, b"I0000 00:00:1.2 7 cudart_stub.cc:31] Could not find cuda drivers\n")
        os.write(2, b"a real error\n")
        print("from Python", file=sys.stderr)
    os.write(2, b"after\n")
    lines = capfd.readouterr().err.splitlines()
    assert sorted(lines) == ["a real error", "after", "from Python"]
    assert lines[-1] == "after"  # everything from inside the block came out before it


def test_a_line_before_an_abort_still_reaches_the_user() -> None:
    code = ("import os; from vsrdata.common.quiet import filtered_stderr\n"
            "with filtered_stderr():\n"
            "    os.write(2, b'fatal: this CPU lacks AVX\\n'); import time; time.sleep(0.2)\n"
            "    os.abort()\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "fatal: this CPU lacks AVX" in res.stderr
