"""HTTP fetching with httpx: polite (robots.txt, per-host limits), safe (SSRF guard, size caps), resilient.

Only network I/O lives here; parsing and extraction stay in the pure modules.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import socket
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import certifi
import httpx

from config.fetch_policy import FetchPolicy, is_public_address  # noqa: F401 (part of this module's API)
from extractors.decode import GZIP_MAGIC
from extractors.records import Reject
from extractors.urls import has_scheme, parse_url, shown_url, strip_userinfo

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("xml", "rss", "atom", "gzip", "text/plain", "octet-stream")
_KEPT_HEADERS = ("content-type", "etag", "last-modified", "content-length", "content-encoding", "retry-after")


@dataclass(frozen=True)
class FetchResult:
    """One URL's outcome: a body (status 200), a 304, or a reject with a stable reason."""

    requested_url: str
    final_url: str
    status: int | None
    fetched_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    redirects: tuple[str, ...] = ()
    attempts: int = 0
    reject: Reject | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


@dataclass(frozen=True)
class Validators:
    """What the last fetch of a URL said, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class _Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reject = Reject(reason, detail)


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reject = Reject(reason, detail)
        self.retry_after = retry_after


def _redirect_target(current: str, location: str) -> str:
    """The absolute URL a Location header points to, through the one parser (checked, credentials removed).

    A Location with a scheme is taken as it is: urljoin would read `http:///x` or `http://[::1/x` as a path
    on the current host."""
    location = location.strip()
    if not has_scheme(location):
        try:
            location = urljoin(current, location)
        except ValueError as exc:
            raise _Refused("bad_url", f"redirect to a malformed URL ({exc}): {shown_url(location)}") from None
    checked = parse_url(location, normalize=False)
    if isinstance(checked, Reject):
        raise _Refused(checked.reason, f"redirect refused: {checked.detail}")
    return checked


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate checks httpx makes by default (certifi's CA bundle), built once a process: reading the
    bundle took 20-50 ms a client, and a run or a test opens many."""
    return ssl.create_default_context(cafile=certifi.where())


class Fetcher:
    """An httpx.AsyncClient wrapped with the policy; use as `async with Fetcher(policy) as f`."""

    def __init__(self, policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy
        self._transport = transport
        self._global = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._robots: dict[str, RobotFileParser | Reject] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._resolved: dict[str, bool] = {}

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        self._client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            timeout=httpx.Timeout(p.read_timeout, connect=p.connect_timeout),
            limits=httpx.Limits(max_connections=p.concurrency, max_keepalive_connections=p.concurrency),
            headers={"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,
            verify=tls_context(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def fetch_many(
        self, urls: Iterable[str], validators: dict[str, Validators] | None = None, expect: str = "page"
    ) -> list[FetchResult]:
        validators = validators or {}
        return list(await asyncio.gather(*(self.fetch(u, validators.get(u), expect) for u in urls)))

    async def fetch(self, url: str, validators: Validators | None = None, expect: str = "page") -> FetchResult:
        """Fetch one URL, following redirects hop by hop; `expect` is "page", "feed" or "any".

        Credentials in the URL or a redirect's Location are removed, never sent nor kept in the result."""
        started = datetime.now(UTC).replace(tzinfo=None)
        chain: list[str] = []
        attempts = 0
        url = current = strip_userinfo(url)
        try:
            while True:
                await self._check_allowed(current)
                for attempt in range(1, self.policy.max_attempts + 1):
                    attempts += 1
                    try:
                        response, body = await self._request_once(current, validators if not chain else None, expect)
                        break
                    except _Retryable as retry:
                        if attempt == self.policy.max_attempts:
                            raise _Refused(retry.reject.reason, retry.reject.detail) from None
                        await asyncio.sleep(self._backoff(attempt, retry.retry_after))
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise _Refused(f"http_{response.status_code}", "redirect without a Location header")
                    chain.append(current)
                    target = _redirect_target(current, location)
                    if target in chain or target == current:
                        raise _Refused("too_many_redirects", "redirect loop: " + " -> ".join([*chain, target]))
                    if len(chain) > self.policy.max_redirects:
                        raise _Refused("too_many_redirects", f"more than {self.policy.max_redirects} redirects")
                    current = target
                    continue
                return FetchResult(
                    requested_url=url,
                    final_url=current,
                    status=response.status_code,
                    fetched_at=started,
                    headers={k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers},
                    body=body,
                    redirects=tuple(chain),
                    attempts=attempts,
                )
        except _Refused as refused:
            return FetchResult(
                url, current, None, started, redirects=tuple(chain), attempts=attempts, reject=refused.reject
            )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.policy.backoff_max)
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def _check_allowed(self, url: str) -> None:
        checked = parse_url(url, normalize=False)
        if isinstance(checked, Reject):
            raise _Refused(checked.reason, checked.detail)
        parts = urlsplit(checked)
        if not self.policy.allow_private_hosts:
            await self._check_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        if self.policy.respect_robots and parts.path != "/robots.txt":
            robots = await self._robots_for(parts.scheme, parts.netloc)
            if isinstance(robots, Reject):
                raise _Refused(robots.reason, robots.detail)
            if not robots.can_fetch(self.policy.user_agent, url):
                raise _Refused("robots_disallowed", f"robots.txt of {parts.netloc} disallows {parts.path}")

    async def _check_address(self, host: str, port: int) -> None:
        """SSRF guard: every address the name resolves to must be allowed (checked on each hop)."""
        if host not in self._resolved:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise _Refused("dns_error", f"cannot resolve {host}: {exc.strerror or exc}") from None
            self._resolved[host] = all(self.policy.allows_address(info[4][0].split("%")[0]) for info in infos)
        if not self._resolved[host]:
            raise _Refused(
                "private_address",
                f"{host} resolves to a private, loopback, link-local or multicast address; "
                "allow with --allow-private-hosts or MEDIAMON_ALLOW_PRIVATE_HOSTS=1",
            )

    async def _robots_for(self, scheme: str, netloc: str) -> RobotFileParser | Reject:
        lock = self._robots_locks.setdefault(netloc, asyncio.Lock())
        async with lock:
            if netloc not in self._robots:
                self._robots[netloc] = await self._load_robots(f"{scheme}://{netloc}/robots.txt")
        return self._robots[netloc]

    async def _load_robots(self, robots_url: str) -> RobotFileParser | Reject:
        """RFC 9309: 4xx means no rules; a 5xx or an unreachable robots.txt means stay away for now."""
        result = await self.fetch(robots_url, expect="any")
        parser = RobotFileParser(robots_url)
        if result.reject and not result.reject.reason.startswith("http_4"):
            return Reject("robots_unavailable", f"{robots_url}: {result.reject.reason}")
        lines = [] if result.reject else result.body.decode("utf-8", "replace").splitlines()
        parser.parse(lines)
        return parser

    async def _request_once(self, url: str, validators: Validators | None, expect: str) -> tuple[httpx.Response, bytes]:
        host = urlsplit(url).netloc
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with self._global, self._hosts.setdefault(host, asyncio.Semaphore(self.policy.per_host_concurrency)):
            await self._wait_for_turn(host)
            try:
                async with asyncio.timeout(self.policy.total_timeout):
                    async with self._client.stream("GET", url, headers=headers) as response:
                        return response, await self._read_body(response, url, expect)
            except TimeoutError:
                raise _Retryable("timeout", f"no complete response within {self.policy.total_timeout} s") from None
            except httpx.TimeoutException as exc:
                raise _Retryable("timeout", f"{type(exc).__name__} for {url[:200]}") from None
            except httpx.RemoteProtocolError as exc:
                if str(exc).startswith("Invalid URL in location header"):  # httpx parses Location itself
                    raise _Refused("bad_url", f"redirect to a malformed URL: {exc}"[:300]) from None
                raise _Retryable("connect_error", f"{type(exc).__name__}: {exc}"[:300]) from None
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError) as exc:
                raise _Retryable("connect_error", f"{type(exc).__name__}: {exc}"[:300]) from None

    async def _wait_for_turn(self, host: str) -> None:
        """Space request starts to one host by at least min_host_interval, counted from when the previous request
        actually got its turn: requests queue on the host's lock (first come, first served) and the next turn is
        set after the wait, so an event loop that wakes a request late cannot bring the next one closer to it."""
        async with self._host_locks.setdefault(host, asyncio.Lock()):
            now = time.monotonic()
            start = self._next_start.get(host, now)
            if start > now:
                await asyncio.sleep(start - now)
            self._next_start[host] = time.monotonic() + self.policy.min_host_interval

    async def _read_body(self, response: httpx.Response, url: str, expect: str) -> bytes:
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retryable(
                f"http_{status}",
                f"HTTP {status} from {url[:200]}",
                retry_after_seconds(response.headers.get("retry-after")),
            )
        if status in (301, 302, 303, 307, 308, 304):
            return b""
        if status != 200:
            raise _Refused(f"http_{status}", f"HTTP {status} from {url[:200]}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if expect == "page" and content_type and content_type not in HTML_TYPES:
            raise _Refused("not_html", f"Content-Type {content_type}")
        if expect == "feed" and content_type and not any(t in content_type for t in (*XML_TYPES, "html")):
            raise _Refused("not_feed", f"Content-Type {content_type}")
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if declared.isdigit() and encoding == "identity" and int(declared) > self.policy.max_bytes:
            raise _Refused("too_large", f"Content-Length {declared} over the {self.policy.max_bytes}-byte limit")
        return await _read_capped(response, encoding, self.policy.max_bytes)


async def _read_capped(response: httpx.Response, encoding: str, max_bytes: int) -> bytes:
    """Read the raw stream, decompressing ourselves so the decompressed size is capped chunk by chunk.

    A gzip body may hold several members (`cat a.gz b.gz` is one valid stream): each is inflated in turn.
    Bytes after the last member that do not start another one (padding) are ignored, as gzip(1) does."""
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    elif encoding in ("identity", ""):
        inflater = None
    else:
        raise _Refused("bad_encoding", f"unsupported Content-Encoding {encoding}")
    parts: list[bytes] = []
    size = 0
    held = b""  # bytes after a finished member, too few to tell whether another member starts
    finished = False  # the last member ended and what followed is not another one
    async for chunk in response.aiter_raw():
        pending = held + chunk if held else chunk
        held = b""
        while pending and not finished:
            if inflater is None:
                out, pending = pending, b""
            elif inflater.eof:
                if encoding == "deflate" or (len(pending) >= 2 and not pending.startswith(GZIP_MAGIC)):
                    finished = True
                elif len(pending) < 2:
                    held, pending = pending, b""
                else:
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                continue
            else:
                try:
                    out = inflater.decompress(pending, max_bytes + 1 - size)
                except zlib.error as exc:
                    raise _Refused("bad_encoding", f"corrupt {encoding} body: {exc}") from None
                pending = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
                if not out and pending and not inflater.eof:
                    break
            size += len(out)
            if size > max_bytes:
                raise _Refused("too_large", f"body over the {max_bytes}-byte limit (after decompression)")
            parts.append(out)
    if inflater is not None and not inflater.eof:
        raise _Refused("bad_encoding", f"truncated {encoding} body: the stream ends before its end marker")
    return b"".join(parts)
