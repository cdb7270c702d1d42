"""The Semantic Scholar client over real HTTP against a loopback API answering in the Graph API's format."""

import socket
import threading
import time

import pytest
from s2_server import S2Server, recorded

from aisci.literature import LiteratureUnavailable, S2Client, S2Options
from aisci.literature.ratelimit import IntervalLimiter
from aisci.literature.s2 import clean_query


class NoWait:
    def acquire(self) -> None:
        pass


def client(server_url: str, tmp_path=None, sleeps=None, **options) -> S2Client:
    opts = S2Options(api_url=server_url, retry_base_delay_s=0.5, max_retries=3, timeout_s=5, **options)
    return S2Client(
        cache_dir=tmp_path,
        options=opts,
        limiter=NoWait(),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_results_are_parsed_from_the_api_format():
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        s2 = S2Client(
            api_key="k" * 20, options=S2Options(api_url=api.url, results_per_query=3), limiter=NoWait()
        )
        result = s2.search("noise schedule & diffusion")
    assert [p.year for p in result.papers] == [2020, 2021, 2023]
    first = result.papers[0]
    assert first.title == "Denoising Diffusion Probabilistic Models"
    assert first.authors[0] == "Jonathan Ho" and first.citation_count == 21000
    assert "Ho et al., 2020, Neural Information Processing Systems" in first.cite_line()
    assert result.papers[2].abstract is None and result.papers[2].venue is None
    request = api.requests[0]
    assert request["path"] == "/graph/v1/paper/search"
    assert request["params"]["query"] == "noise schedule diffusion"
    assert request["params"]["limit"] == "3" and "abstract" in request["params"]["fields"]
    assert request["headers"]["x-api-key"] == "k" * 20


def test_empty_result_is_no_hits():
    with S2Server((200, recorded("search_empty"))) as api:
        result = client(api.url).search("an idea nobody had")
    assert result.papers == [] and len(api.requests) == 1


def test_429_then_success_backs_off_and_honours_retry_after():
    sleeps: list[float] = []
    with S2Server(
        (429, {"message": "Too Many Requests"}, {"Retry-After": "7"}),
        (200, recorded("search_noise_schedule")),
    ) as api:
        result = client(api.url, sleeps=sleeps).search("noise schedule")
    assert len(result.papers) == 3 and len(api.requests) == 2
    assert sleeps == [7.0]


def test_5xx_is_retried_with_growing_delays_then_gives_up():
    sleeps: list[float] = []
    with (
        S2Server((503, "Service Unavailable")) as api,
        pytest.raises(LiteratureUnavailable, match="failed 4 times.*HTTP 503"),
    ):
        client(api.url, sleeps=sleeps).search("noise schedule")
    assert len(api.requests) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]  # 0.5 s doubling, jitter 0.5-1.5x


@pytest.mark.parametrize("body", ["<html>gateway hiccup</html>", {"message": "no result list"}])
def test_malformed_body_is_retried_and_then_reported(body):
    with S2Server((200, body), (200, recorded("search_noise_schedule"))) as api:
        assert len(client(api.url).search("noise schedule").papers) == 3
    with S2Server((200, body)) as api, pytest.raises(LiteratureUnavailable, match="malformed response"):
        client(api.url).search("noise schedule")


def test_forbidden_key_is_not_retried():
    with (
        S2Server((403, {"message": "Forbidden"})) as api,
        pytest.raises(LiteratureUnavailable, match="HTTP 403") as err,
    ):
        client(api.url).search("noise schedule")
    assert len(api.requests) == 1 and "AISCI_S2_API_KEY" in err.value.hint


def test_unreachable_api_is_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: connections are refused
    with pytest.raises(LiteratureUnavailable, match="ConnectError"):
        client(f"http://127.0.0.1:{port}").search("noise schedule")


def test_cache_answers_a_rerun_without_requests(tmp_path):
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        first = client(api.url, tmp_path).search("Noise schedule")
        again = client(api.url, tmp_path).search("noise   schedule")
        expired = client(api.url, tmp_path, cache_days=0).search("noise schedule")
    assert not first.cached and again.cached and not expired.cached
    assert again.papers == first.papers
    assert len(api.requests) == 2


def test_query_cleaning():
    assert clean_query("  diffusion & noise=cosine #schedule ") == "diffusion noise cosine schedule"
    assert clean_query("low-rank 'adapters'") == "low-rank 'adapters'"


def test_interval_limiter_hands_out_one_slot_per_interval():
    now = [100.0]
    waits: list[float] = []
    limiter = IntervalLimiter(1.0, clock=lambda: now[0], sleep=waits.append)
    for _ in range(3):
        limiter.acquire()  # three requests at once: the second waits 1 s, the third 2 s
    now[0] = 110.0
    limiter.acquire()  # after a quiet spell a request goes at once
    assert waits == [1.0, 2.0]


def test_interval_limiter_holds_back_concurrent_threads():
    limiter = IntervalLimiter(0.05)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(6)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 5 * 0.05 - 0.01
