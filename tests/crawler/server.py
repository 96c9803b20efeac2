"""A local HTTP server for crawler tests: routes answer like the real services, offline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None  # send only this many body bytes, then drop the connection
    stall_after: int | None = None  # send this many body bytes, then hang (until killed)


Route = Callable[[Request], Reply]


class Server:
    """``routes[path] = fn(request) -> Reply``; every request is logged in ``requests``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                req = Request("GET", parts.path, parse_qs(parts.query), dict(self.headers))
                server.requests.append(req)
                route = server.routes.get(parts.path)
                reply = route(req) if route else Reply(404, b"not found")
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if reply.stall_after is not None:
                    self.wfile.write(reply.body[: reply.stall_after])
                    self.wfile.flush()
                    time.sleep(60)
                    return
                if reply.cut_after is not None:
                    self.wfile.write(reply.body[: reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(reply.body)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up mid-body are part of the tests

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def serve() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def file_route(data: bytes, content_type: str = "video/mp4", cut_first: int | None = None) -> Route:
    """Serve ``data`` with HTTP Range support; optionally cut the first answer short."""
    state = {"served": 0}

    def route(req: Request) -> Reply:
        state["served"] += 1
        cut = cut_first if state["served"] == 1 else None
        rng = req.headers.get("Range", "")
        if rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            body = data[start:]
            headers = {"Content-Type": content_type,
                       "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}  # fmt: skip
            return Reply(206, body, headers, cut)
        return Reply(200, data, {"Content-Type": content_type, "Accept-Ranges": "bytes"}, cut)

    return route
