"""TensorFlow's start-up notices are filtered from file descriptor 2; everything else passes."""

from __future__ import annotations

import os
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


def _onednn(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=full)  # fmt: skip


BUILD = ("from vsrdata.common.quiet import onednn_enabled\n"
         "from vsrdata.vsr_models import build_model\n"
         "build_model('tiny-test', 4)\n"
         "print(onednn_enabled())\n")  # fmt: skip


def test_onednn_is_on_when_vsrdata_comes_first() -> None:
    """TensorFlow leaves oneDNN off on CPUs without AVX-512 VNNI (this AVX2 machine class):
    importing vsrdata first turns it on. (A user's TF_ENABLE_ONEDNN_OPTS=0 kept, unwarned:
    test_zoo.test_grouped_convolution_without_onednn_trains, in its own process.)"""
    on = _onednn("import vsrdata, tensorflow\n" + BUILD, {})
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True"] and "oneDNN CPU kernels are off" not in on.stderr


def test_tensorflow_imported_first_with_onednn_off_is_said_once() -> None:
    res = _onednn("import tensorflow\n" + BUILD + "build_model('tiny-test', 4)\n", {})
    assert res.returncode == 0, res.stderr
    # on a CPU with AVX-512 VNNI TensorFlow turns oneDNN on by itself: nothing to say there
    expected = 1 if res.stdout.split() == ["False"] else 0
    assert res.stderr.count("oneDNN CPU kernels are off") == expected
