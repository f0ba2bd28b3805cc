"""HTTP for the archive connector: the GitHub REST API (commit listings) and raw file URLs.

Standard library only (urllib).  What it takes care of:

- Base URLs are injectable (``EXODUS_GITHUB_API``, ``EXODUS_RAW_BASE``) so tests run against a
  local server and a mirror of the API can be used.
- ``GITHUB_TOKEN`` (optional) is sent to the API only: 5,000 instead of 60 calls an hour.
- Rate limits (403/429 with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset``, or
  ``Retry-After``): wait and retry when the wait is at most ``max_wait`` seconds, otherwise stop
  with :class:`RateLimited` saying when the limit resets (callers save progress first).
- Server errors and dropped connections are retried a few times with backoff; a body shorter
  than its ``Content-Length`` (a truncated download) is never returned.
- An optional overall deadline per download (``deadline``), and an optional refusal of
  redirects to another path (``same_path_redirects``), used for Wikimedia.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from analysis.config import github_api as api_base  # EXODUS_GITHUB_API
from analysis.config import (
    github_token,
    raw_base,  # noqa: F401  (EXODUS_RAW_BASE; re-exported)
)
from analysis.errors import ExodusError

USER_AGENT = "exodus-research-package (+https://github.com/Price-of-Privacy-in-Digital-Markets/app-rankings reader)"


class RemoteError(ExodusError):
    """The remote source could not deliver (network, server, rate limit); exit code 1.

    Not bad input: rerunning later, with a token, or with a mirror can succeed.
    """

    exit_code = 1


class NotFound(RemoteError):
    """HTTP 404: the resource does not exist (callers name what was missing)."""


class RateLimited(RemoteError):
    def __init__(self, message: str, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _SamePathRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same path (another scheme or host); a redirect to another
    path (another article, another file) is refused, so its body is never taken for the asked one."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 (urllib's hook)
        if urllib.parse.urlsplit(newurl).path != urllib.parse.urlsplit(req.full_url).path:
            raise RemoteError(f"refused: {req.full_url} redirects (HTTP {code}) to another resource, {newurl}; "
                              "its body is not the one asked for and was not used")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class Http:
    """A small HTTP client with the retry and rate-limit rules above (clock injectable).

    ``deadline`` (seconds, None: none) bounds one :meth:`get` as a whole: connecting, every
    retry and wait, and reading the body (a server that trickles bytes is cut off).
    ``same_path_redirects`` refuses a redirect to another path (:class:`_SamePathRedirects`).
    ``token_hint`` is what the rate-limit message suggests (GitHub's token; None for other hosts).
    """

    token: str | None = field(default_factory=github_token)
    max_wait: float = 3600.0
    retries: int = 3
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    log: Callable[[str], None] = _stderr
    api: str = field(default_factory=api_base)
    user_agent: str = USER_AGENT
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic
    same_path_redirects: bool = False

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent}
        if url.startswith(self.api):
            headers["Accept"] = "application/vnd.github+json"
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _left(self, url: str, t0: float, need: float = 0.0) -> float:
        """Seconds left of the deadline (inf without one); RemoteError when ``need`` does not fit."""
        if self.deadline is None:
            return float("inf")
        left = self.deadline - (self.clock() - t0)
        if left <= need:
            raise RemoteError(f"gave up on {url}: the overall deadline of {self.deadline:.0f} s for one download "
                              "(retries, waits and reading included) was reached; nothing was written")
        return left

    def _once(self, url: str, headers: dict[str, str], t0: float) -> tuple[bytes, dict[str, str]]:
        opener = urllib.request.build_opener(*([_SamePathRedirects()] if self.same_path_redirects else []))
        timeout = min(self.timeout, self._left(url, t0))
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            hdrs = {k.lower(): v for k, v in r.headers.items()}
            chunks = []
            while block := r.read1(1 << 16):  # what has arrived (a trickle cannot hold read() forever)
                chunks.append(block)
                self._left(url, t0)
            body = b"".join(chunks)
        expected = hdrs.get("content-length")
        if expected is not None and expected.isdigit() and int(expected) != len(body):
            raise http.client.IncompleteRead(body, int(expected) - len(body))
        return body, hdrs

    def _rate_limited(self, url: str, code: int, wait: float) -> RateLimited:
        when = datetime.fromtimestamp(self.now() + wait, UTC).strftime("%H:%M:%S UTC")
        github = url.startswith(self.api)
        return RateLimited(
            f"{'GitHub API' if github else urllib.parse.urlsplit(url).netloc} rate limit reached (HTTP {code}); it "
            f"resets at {when} (in {wait:.0f} s). Rerun the same command then to resume"
            + (", or set GITHUB_TOKEN for 5,000 calls an hour" if github and not self.token else ""),
            self.now() + wait)

    def get(self, url: str) -> tuple[bytes, dict[str, str]]:
        """GET ``url``; returns (body, headers with lower-case names)."""
        headers, t0 = self._headers(url), self.clock()
        attempt, waits = 0, 0
        while True:
            try:
                return self._once(url, headers, t0)
            except urllib.error.HTTPError as exc:
                hdrs = {k.lower(): v for k, v in (exc.headers or {}).items()}
                try:
                    text = exc.read()[:300].decode("utf-8", "replace")
                except Exception:  # the body may be gone already
                    text = ""
                wait = self._rate_limit_wait(exc.code, hdrs)
                if wait is not None:
                    waits += 1
                    if wait > self.max_wait or waits > 5 or wait >= self._left(url, t0):
                        raise self._rate_limited(url, exc.code, wait) from None
                    when = datetime.fromtimestamp(self.now() + wait, UTC).strftime("%H:%M:%S UTC")
                    self.log(f"HTTP {exc.code} rate limit; waiting {wait:.0f} s until {when} (Ctrl-C stops; progress is saved)")
                    self.sleep(wait)
                    continue
                if exc.code >= 500 and attempt < self.retries:
                    attempt += 1
                    after = hdrs.get("retry-after", "")
                    wait = min(float(after), self.max_wait) if after.isdigit() else 2.0**attempt
                    self._left(url, t0, wait)
                    self.log(f"HTTP {exc.code} from the server; retry {attempt} of {self.retries} in {wait:.0f} s")
                    self.sleep(wait)
                    continue
                if exc.code == 404:
                    raise NotFound(f"not found (HTTP 404): {url}") from None
                raise RemoteError(f"HTTP {exc.code} from {url}: {text.strip()}") from None
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                if attempt < self.retries:
                    attempt += 1
                    self._left(url, t0, 2.0**attempt)
                    self.sleep(2.0**attempt)
                    continue
                what = ("truncated download: the connection closed before the whole file arrived"
                        if isinstance(exc, http.client.IncompleteRead) else f"connection failed: {exc}")
                raise RemoteError(f"{what} ({url}, {self.retries + 1} attempts); nothing was written") from None
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError) and self.deadline is not None:
                    self._left(url, t0)
                raise RemoteError(
                    f"cannot reach {url}: {exc.reason}. Offline? Set EXODUS_DATA_MIRROR=<dir> to read "
                    "the same files from a local copy"
                ) from None

    def _rate_limit_wait(self, code: int, hdrs: dict[str, str]) -> float | None:
        """Seconds to wait if the response is a rate-limit refusal, else None."""
        if code not in (403, 429):
            return None
        if "retry-after" in hdrs:
            try:
                return max(float(hdrs["retry-after"]), 1.0)
            except ValueError:
                return 60.0
        if hdrs.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in hdrs:
            try:
                return max(float(hdrs["x-ratelimit-reset"]) - self.now(), 0.0) + 1.0
            except ValueError:
                return 60.0
        return 60.0 if code == 429 else None

    def get_json(self, url: str) -> tuple[object, dict[str, str]]:
        body, hdrs = self.get(url)
        try:
            return json.loads(body), hdrs
        except json.JSONDecodeError as exc:
            raise RemoteError(f"not JSON from {url}: {exc.msg}") from None


def next_link(link_header: str | None) -> str | None:
    """The ``rel="next"`` URL of a GitHub ``Link`` header, if any."""
    for part in (link_header or "").split(","):
        m = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if m:
            return m.group(1)
    return None


def commits_url(api: str, repo: str, path: str, since: str, until: str, per_page: int = 100) -> str:
    """First page of the commits that touched ``path`` between ``since`` and ``until`` (ISO Z)."""
    q = urllib.parse.urlencode({"path": path, "since": since, "until": until, "per_page": per_page})
    return f"{api}/repos/{repo}/commits?{q}"


def raw_url(raw: str, repo: str, commit: str, path: str) -> str:
    return f"{raw}/{repo}/{commit}/{urllib.parse.quote(path)}"


def parse_commits(payload: object, url: str) -> list[tuple[str, str]]:
    """(sha, committer time as ISO Z) from one page of ``GET /repos/{repo}/commits``."""
    if not isinstance(payload, list):
        msg = payload.get("message") if isinstance(payload, dict) else None
        raise RemoteError(f"unexpected commit listing from {url}: {msg or type(payload).__name__}")
    out = []
    for item in payload:
        try:
            sha = item["sha"]
            when = (item["commit"].get("committer") or item["commit"]["author"])["date"]
        except (KeyError, TypeError, AttributeError):
            raise RemoteError(f"commit listing from {url} has an entry without sha or date") from None
        if not re.fullmatch(r"[0-9a-f]{40}", str(sha)):
            raise RemoteError(f"commit listing from {url} has a malformed sha {sha!r}")
        out.append((sha, str(when)))
    return out
