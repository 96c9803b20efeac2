"""``vsrdata serve`` in a subprocess, for the tests (and docs/make_screenshots.py): a
cookie-keeping HTTP client for it and a polling helper."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``vsrdata serve`` in a subprocess, and a cookie-keeping HTTP client for it."""

    def __init__(self, data: Path, *args: str) -> None:
        self.data, self.args, self.port = data, args, free_port()
        self.cookie = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with open(self.data.parent / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vsrdata", "serve", "--data", str(self.data),
                 "--port", str(self.port), *self.args],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        wait_for(lambda: self._up(), 60, "the server to answer")
        return self

    def _up(self) -> bool:
        try:
            return self.request("GET", "/api/config")[0] == 200
        except OSError:
            return False

    def request(self, method: str, url: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, url, body=body,
                         headers={**({"Cookie": self.cookie} if self.cookie else {}),
                                  **(headers or {})})  # fmt: skip
            r = conn.getresponse()
            cookie = r.getheader("set-cookie")
            if cookie:
                self.cookie = cookie.split(";")[0]
            return r.status, r.read()
        finally:
            conn.close()

    def jobs(self) -> list[dict[str, Any]]:
        status, body = self.request("GET", "/api/jobs")
        assert status == 200
        return list(json.loads(body))

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
