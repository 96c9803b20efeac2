"""A polite HTTP session: per-host rate limits, Retry-After, backoff, robots.txt, no leaks.

- Rate limits: each host gets a minimum interval between requests (from the API's published
  limit, e.g. Pixabay's 100 requests per 60 s -> 0.6 s); ``X-Ratelimit-Remaining: 0`` with
  ``X-Ratelimit-Reset`` (Pexels) or a ``Retry-After`` on 429/503 holds the host until then.
- Faults: 5xx answers and connection errors are retried with exponential backoff and full
  jitter (delay = uniform(0, min(cap, base * 2**try))), at most ``max_tries`` times; then
  :class:`CrawlError` says what failed, and the caller marks the clip failed and goes on.
  Other 4xx answers are not retried.
- robots.txt (RFC 9309) is fetched once per host and obeyed when a request asks for it: a
  4xx robots.txt allows everything, an unreachable one or a 5xx disallows the host.
- Only http(s) URLs are followed. Secrets (API keys) are redacted from every message, and
  ``key``/``api_key`` query parameters are stripped from URLs in messages.
"""

from __future__ import annotations

import logging
import random
import re
import time
import urllib.robotparser
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from vsrdata import __version__
from vsrdata.errors import VsrDataError

log = logging.getLogger(__name__)

DEFAULT_CONTACT = "https://github.com/vsrdata/vsrdata"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_SECRET_PARAMS = re.compile(r"([?&](?:key|api_key|apikey|token)=)[^&#\s]*", re.IGNORECASE)


class _LogRedactor(logging.Filter):
    """Rewrites urllib3's records (which print request URLs) without secrets."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        text = _SECRET_PARAMS.sub(r"\1***", text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), ()
        return True


_REDACTOR = _LogRedactor()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager",
              "urllib3.response", "requests"):  # fmt: skip
    logging.getLogger(_name).addFilter(_REDACTOR)


class CrawlError(VsrDataError):
    """A request that failed for good (after retries, or a refusal); the message is redacted.

    ``status`` is the last HTTP status, or None for connection errors and refusals.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Secrets(list[str]):
    """A session's secrets; each is also redacted from urllib3's log records."""

    def __init__(self, redactor: _LogRedactor) -> None:
        super().__init__()
        self._redactor = redactor

    def append(self, secret: str) -> None:
        if secret:
            super().append(secret)
            self._redactor.secrets.add(secret)


def user_agent(contact: str = DEFAULT_CONTACT) -> str:
    """A descriptive User-Agent with a contact, as Wikimedia's policy asks of every client."""
    return f"vsrdata/{__version__} (video super-resolution dataset builder; {contact})"


@dataclass
class HostLimits:
    """Minimum seconds between requests per host (``*`` for any host not listed)."""

    intervals: dict[str, float] = field(default_factory=lambda: {"*": 0.2})

    def interval(self, host: str) -> float:
        return self.intervals.get(host, self.intervals.get("*", 0.0))


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class PoliteSession:
    """``get`` with the rules of the module docstring. ``sleep`` and ``clock`` are injectable."""

    def __init__(
        self,
        limits: HostLimits | None = None,
        contact: str = DEFAULT_CONTACT,
        max_tries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_wait: float = 600.0,
        timeout: float = 30.0,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.limits = limits or HostLimits()
        self.max_tries, self.backoff, self.max_backoff = max_tries, backoff, max_backoff
        self.max_wait, self.timeout = max_wait, timeout
        self.secrets = _Secrets(_REDACTOR)
        for secret in secrets:
            self.secrets.append(secret)
        self.sleep, self.clock, self.wall = sleep, clock, wall
        self.rng = rng or random.Random()
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent(contact)
        self._next: dict[str, float] = {}  # host -> earliest clock time of its next request
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    # -- messages -----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` without secret values or key-like query parameters."""
        return _REDACTOR.redact(text)

    # -- pacing -------------------------------------------------------------------------------

    def _wait_turn(self, host: str) -> None:
        delay = self._next.get(host, 0.0) - self.clock()
        if delay > 0:
            self.sleep(delay)
        self._next[host] = self.clock() + self.limits.interval(host)

    def hold(self, host: str, seconds: float) -> None:
        """Send nothing to ``host`` for ``seconds`` (bounded by ``max_wait``)."""
        until = self.clock() + min(seconds, self.max_wait)
        self._next[host] = max(self._next.get(host, 0.0), until)

    def _note_limits(self, host: str, resp: requests.Response) -> None:
        remaining = resp.headers.get("X-Ratelimit-Remaining")
        reset = resp.headers.get("X-Ratelimit-Reset")
        if remaining is not None and remaining.strip() == "0" and reset:
            try:
                value = float(reset)
            except ValueError:
                return
            # Reset is an epoch time (Pexels) or, if small, seconds from now
            seconds = value - self.wall() if value > 1e9 else value
            log.info("rate limit reached on %s; waiting %.0f s", host, seconds)
            self.hold(host, max(0.0, seconds))

    # -- robots.txt ---------------------------------------------------------------------------

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets this client fetch it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._fetch_robots(origin)
        robots = self._robots[origin]
        if robots is None:
            return False
        return robots.can_fetch(self.http.headers["User-Agent"], url)

    def _fetch_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            resp = self._request("GET", origin + "/robots.txt", robots=False)
        except CrawlError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                parser.parse([])  # no robots.txt: everything allowed
                return parser
            log.warning("robots.txt of %s unreachable (%s); not crawling it", origin, exc)
            return None
        parser.parse(resp.text.splitlines())
        return parser

    # -- requests -----------------------------------------------------------------------------

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        robots: bool = False,
    ) -> requests.Response:
        """GET with pacing and retries; raises :class:`CrawlError` when it fails for good."""
        return self._request("GET", url, params=params, headers=headers, stream=stream,
                             robots=robots)  # fmt: skip

    def _request(self, method: str, url: str, robots: bool, **kwargs: Any) -> requests.Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CrawlError(f"not an http(s) URL: {self.redact(url)}", status=None)
        if robots and not self.allowed(url):
            raise CrawlError(f"robots.txt disallows {self.redact(url)}", status=None)
        host = parts.netloc
        problem = ""
        for attempt in range(self.max_tries):
            self._wait_turn(host)
            try:
                resp = self.http.request(method, url, timeout=self.timeout, **kwargs)
            except TRANSIENT as exc:
                problem = f"{type(exc).__name__}"
                self.pause(attempt)
                continue
            except requests.RequestException as exc:  # a bad URL or redirect: retrying won't help
                raise CrawlError(f"{type(exc).__name__} for {self.redact(url)}") from None
            self._note_limits(host, resp)
            if resp.status_code < 400:
                return resp
            problem = f"HTTP {resp.status_code}"
            if resp.status_code not in RETRY_STATUS:
                resp.close()
                raise CrawlError(f"{problem} for {self.redact(resp.url)}", status=resp.status_code)
            wait = _retry_after(resp.headers.get("Retry-After"), self.wall())
            resp.close()
            if wait is not None and resp.status_code in (429, 503):
                self.hold(host, wait)
            else:
                self.pause(attempt)
        raise CrawlError(
            f"{problem} after {self.max_tries} tries for {self.redact(url)}",
            status=int(problem[5:]) if problem.startswith("HTTP ") else None,
        )

    def pause(self, attempt: int) -> None:
        """Sleep a jittered exponential backoff for the given (0-based) attempt."""
        cap = min(self.max_backoff, self.backoff * 2**attempt)
        self.sleep(self.rng.uniform(0, cap))
