"""Semantic Scholar paper search over its public Graph API (`/graph/v1/paper/search`), safe to call from
many tasks.

Every request waits for the shared rate limit, 429s and 5xx are retried with backoff and jitter, an empty
answer is "no hits", and answers are cached on disk by query so a re-run costs no requests. The client is
httpx: the `semanticscholar` package turns 502/503 into empty results and offers no public way to see them.
"""

import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from aisci.errors import AisciError
from aisci.files import write_json
from aisci.literature.models import Paper, SearchResult
from aisci.literature.ratelimit import RateLimiter, interval_for, shared_limiter
from aisci.settings import Settings

log = logging.getLogger("aisci.literature")

DEFAULT_API_URL = "https://api.semanticscholar.org"
FIELDS = ["paperId", "title", "year", "venue", "authors", "citationCount", "abstract", "url"]
MAX_BACKOFF_S = 60.0


class LiteratureUnavailable(AisciError):
    """Semantic Scholar could not answer; a novelty check that needs it ends with verdict `unknown`."""


class _Retryable(Exception):
    """A failure worth another try: 429, 5xx, a dropped connection, a garbled body."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class S2Options(BaseModel):
    api_url: str = Field(DEFAULT_API_URL, description="Semantic Scholar API base URL")
    results_per_query: int = Field(10, ge=1, le=100)
    max_retries: int = Field(5, ge=0)
    retry_base_delay_s: float = Field(2.0, ge=0, description="first backoff delay; doubles per retry")
    timeout_s: float = Field(30.0, gt=0)
    interval_s: float | None = Field(None, gt=0, description="seconds between requests; default 1 with a key")
    cache_days: float = Field(30.0, ge=0, description="how long a cached answer is reused")


class S2Client:
    """Paper search; `cache_dir` None disables the cache, `limiter` None uses the process-wide one."""

    def __init__(
        self,
        api_key: str | None = None,
        cache_dir: Path | None = None,
        options: S2Options | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options or S2Options()
        self.api_key = api_key
        self.cache_dir = cache_dir
        self.limiter = limiter or shared_limiter(self.options.interval_s or interval_for(bool(api_key)))
        self.requests = 0
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls, settings: Settings, options: S2Options | None = None, limiter: RateLimiter | None = None
    ) -> "S2Client":
        """The client every stage uses: the configured key and one cache, `<workspace>/cache/s2`."""
        key = settings.s2_api_key.get_secret_value() if settings.s2_api_key else None
        return cls(
            api_key=key, cache_dir=settings.workspace / "cache" / "s2", options=options, limiter=limiter
        )

    def search(self, query: str) -> SearchResult:
        """Papers matching `query`, from the cache when it has them. Raises LiteratureUnavailable."""
        query = clean_query(query)
        if not query:
            return SearchResult(query=query, papers=[])
        cached = self._cached(query)
        if cached is not None:
            return cached
        result = SearchResult(query=query, papers=self._fetch(query))
        if self.cache_dir is not None:
            stamp = {"fetched_at": datetime.now(UTC).isoformat()}
            write_json(self._cache_path(query), stamp | result.model_dump(mode="json"))
        return result

    def _fetch(self, query: str) -> list[Paper]:
        attempts = 0
        while True:
            attempts += 1
            self.limiter.acquire()
            self.requests += 1
            try:
                return [Paper.from_s2(item) for item in self._get(query)]
            except _Retryable as exc:
                if attempts > self.options.max_retries:
                    raise LiteratureUnavailable(
                        f"Semantic Scholar failed {attempts} times for {query!r}: {exc}",
                        hint="check the network; the idea keeps verdict 'unknown' until it is re-checked",
                    ) from None
                delay = self.options.retry_base_delay_s * 2 ** (attempts - 1) * random.uniform(0.5, 1.5)
                delay = min(max(delay, exc.retry_after or 0.0), MAX_BACKOFF_S)
                log.warning("Semantic Scholar: %s; retrying in %.1fs", exc, delay)
                self._sleep(delay)

    def _get(self, query: str) -> list[dict[str, Any]]:
        """One search request: the hits, or an exception saying whether another try may help."""
        import httpx

        params = {"query": query, "fields": ",".join(FIELDS), "limit": self.options.results_per_query}
        headers = {"x-api-key": self.api_key} if self.api_key else {}
        try:
            r = httpx.get(
                f"{self.options.api_url.rstrip('/')}/graph/v1/paper/search",
                params=params,
                headers=headers,
                timeout=self.options.timeout_s,
            )
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc or 'no answer'}") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise _Retryable(f"HTTP {r.status_code}", _retry_after(r.headers.get("retry-after")))
        if r.status_code in (401, 403):
            raise LiteratureUnavailable(
                f"Semantic Scholar refused the request (HTTP {r.status_code})",
                hint="check AISCI_S2_API_KEY, or unset it to search without a key",
            )
        if r.status_code != 200:
            raise LiteratureUnavailable(f"Semantic Scholar answered HTTP {r.status_code}: {r.text[:200]}")
        try:
            data = r.json()
        except ValueError:
            raise _Retryable(f"malformed response (not JSON): {r.text[:80]!r}") from None
        if not isinstance(data, dict) or not isinstance(data.get("data", []), list) or "total" not in data:
            raise _Retryable(f"malformed response (no result list): {r.text[:80]!r}")
        return data.get("data", [])  # no hits: the API leaves the list out

    def _cache_path(self, query: str) -> Path:
        key = json.dumps([query.lower(), self.options.results_per_query, FIELDS])
        assert self.cache_dir is not None
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def _cached(self, query: str) -> SearchResult | None:
        if self.cache_dir is None:
            return None
        path = self._cache_path(query)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            fetched = datetime.fromisoformat(data.pop("fetched_at"))
            if datetime.now(UTC) - fetched > timedelta(days=self.options.cache_days):
                return None
            return SearchResult.model_validate(data).model_copy(update={"cached": True})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None


def clean_query(query: str) -> str:
    """Words only: the search ignores punctuation, and one spelling per query keeps one cache entry."""
    return " ".join(re.sub(r"[^\w\s\-']", " ", query).split())[:200]


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
