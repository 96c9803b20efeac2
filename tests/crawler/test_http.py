"""The polite session against a local server: pacing, Retry-After, backoff, robots, secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crawler.server import Reply, Server, serve
from tests.helpers import FakeTime, session
from vsrdata.crawler.http import CrawlError, HostLimits


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def test_requests_to_a_host_are_spaced(server: Server) -> None:
    server.routes["/a"] = lambda r: Reply(body=b"ok")
    t = FakeTime()
    s = session(t, limits=HostLimits({"*": 0.6}))
    for _ in range(3):
        assert s.get(server.url + "/a").text == "ok"
    assert t.sleeps == pytest.approx([0.6, 0.6])
    assert "vsrdata/" in server.requests[0].headers["User-Agent"]


def test_retry_after_on_429_is_honoured(server: Server) -> None:
    calls = iter([Reply(429, headers={"Retry-After": "7"}), Reply(body=b"fine")])
    server.routes["/api"] = lambda r: next(calls)
    t = FakeTime()
    assert session(t, limits=HostLimits({"*": 0})).get(server.url + "/api").text == "fine"
    assert t.sleeps == pytest.approx([7.0])


def test_5xx_burst_backs_off_then_gives_up_with_a_reason(server: Server) -> None:
    server.routes["/down"] = lambda r: Reply(503)
    server.routes["/flaky"] = lambda r: Reply(500) if len(server.hits("/flaky")) < 3 else Reply()
    t = FakeTime()
    s = session(t, limits=HostLimits({"*": 0}), max_tries=4, backoff=1.0)
    assert s.get(server.url + "/flaky").status_code == 200
    assert len(t.sleeps) == 2 and all(0 <= d <= 2 for d in t.sleeps)  # jittered, growing caps
    with pytest.raises(CrawlError, match="HTTP 503 after 4 tries") as err:
        s.get(server.url + "/down")
    assert err.value.status == 503


def test_4xx_is_not_retried_and_non_http_urls_are_refused(server: Server) -> None:
    t = FakeTime()
    s = session(t)
    with pytest.raises(CrawlError, match="HTTP 404"):
        s.get(server.url + "/missing")
    assert len(server.hits("/missing")) == 1
    with pytest.raises(CrawlError, match="not an http"):
        s.get("file:///etc/passwd")


def test_rate_limit_headers_hold_the_host(server: Server) -> None:
    t = FakeTime()
    reset = t.now + 30
    server.routes["/v"] = lambda r: Reply(
        headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(int(reset) + 2_000_000_000)}
    )
    # an epoch reset far away is capped by max_wait
    s = session(t, limits=HostLimits({"*": 0}), max_wait=45)
    s.get(server.url + "/v")
    s.get(server.url + "/v")
    assert t.sleeps == pytest.approx([45.0])


def test_robots_txt_is_obeyed(server: Server) -> None:
    server.routes["/robots.txt"] = lambda r: Reply(body=b"User-agent: *\nDisallow: /private\n")
    server.routes["/public"] = lambda r: Reply(body=b"yes")
    t = FakeTime()
    s = session(t)
    assert s.get(server.url + "/public", robots=True).text == "yes"
    with pytest.raises(CrawlError, match=r"robots\.txt disallows"):
        s.get(server.url + "/private/x", robots=True)
    assert not server.hits("/private/x")
    assert len(server.hits("/robots.txt")) == 1  # fetched once per host


def test_missing_robots_allows_and_broken_robots_disallows(server: Server) -> None:
    t = FakeTime()
    s = session(t, max_tries=2)
    server.routes["/x"] = lambda r: Reply(body=b"x")
    assert s.allowed(server.url + "/x")  # robots.txt is a 404
    with serve() as other:
        other.routes["/robots.txt"] = lambda r: Reply(500)
        assert not s.allowed(other.url + "/x")


def test_secrets_never_appear_in_errors(server: Server) -> None:
    server.routes["/api"] = lambda r: Reply(400)
    t = FakeTime()
    s = session(t, secrets=["s3cr3t-key"])
    with pytest.raises(CrawlError) as err:
        s.get(server.url + "/api", params={"key": "s3cr3t-key", "q": "walking"})
    assert "s3cr3t-key" not in str(err.value) and "key=***" in str(err.value)
    assert s.redact("Authorization: s3cr3t-key") == "Authorization: ***"
