"""The mantle duplicate-job lookup pages with the real OpenAI SDK: its requests are bounded whatever
the service does with the cursor (`after`) and the page size (`limit`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest

from stacks.rft_job.runtime.mantle import LOOKUP_MAX_JOBS, LOOKUP_MAX_PAGES, MantleJobs


def _job(job_id: str, training_file: str = "file-other") -> dict[str, Any]:
    return {"id": job_id, "object": "fine_tuning.job", "model": "openai.gpt-oss-20b", "created_at": 1_700_000_000,
            "status": "running", "training_file": training_file, "metadata": None}


def _jobs_client(serve: Callable[[httpx2.Request], dict[str, Any]], requests: list[httpx2.Request]) -> MantleJobs:
    def handle(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return httpx2.Response(200, json=serve(request))

    client = openai.OpenAI(api_key="test", base_url="https://mantle.test/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handle)))
    return MantleJobs(client)


def test_a_service_that_ignores_the_cursor_is_asked_twice_at_most() -> None:
    """The same page again (the cursor repeated): the lookup stops at the second request."""
    requests: list[httpx2.Request] = []
    jobs = _jobs_client(lambda request: {"object": "list", "data": [_job("ftjob-1"), _job("ftjob-2")],
                                          "has_more": True}, requests)
    assert jobs.find_launch(token=None, training_file="file-mine") is None
    assert len(requests) == 2
    assert requests[1].url.params.get("after") == "ftjob-2"


def test_a_service_that_serves_one_new_job_per_page_forever_is_asked_at_most_the_page_cap() -> None:
    """Fresh jobs on every page, one at a time (the limit ignored), and always more: capped in pages,
    not in jobs (500 jobs would have been 500 signed requests)."""
    requests: list[httpx2.Request] = []
    counter = itertools.count()
    jobs = _jobs_client(lambda request: {"object": "list", "data": [_job(f"ftjob-{next(counter)}")],
                                          "has_more": True}, requests)
    assert jobs.find_launch(token=None, training_file="file-mine") is None
    assert len(requests) == LOOKUP_MAX_PAGES < LOOKUP_MAX_JOBS


def test_a_cursor_seen_before_stops_the_scan_even_when_its_page_brings_new_jobs() -> None:
    """Every page ends with the same job (so the SDK sends the same `after`) but carries a new one
    before it: the repeated cursor alone ends the scan."""
    requests: list[httpx2.Request] = []
    counter = itertools.count()
    jobs = _jobs_client(lambda request: {"object": "list", "data": [_job(f"ftjob-new-{next(counter)}"),
                                                                     _job("ftjob-last")], "has_more": True}, requests)
    assert jobs.find_launch(token=None, training_file="file-mine") is None
    assert len(requests) == 2


@pytest.mark.parametrize("page_size", [1, 7, 100])
def test_the_launch_is_found_on_a_later_page(page_size: int) -> None:
    """A well-behaved service: the lookup follows the cursor and finds the job a few pages down."""
    requests: list[httpx2.Request] = []
    listed = [_job(f"ftjob-{i}") for i in range(3 * page_size)]
    listed[-1] = _job("ftjob-mine", training_file="file-mine")

    def serve(request: httpx2.Request) -> dict[str, Any]:
        after = request.url.params.get("after")
        start = next(i for i, job in enumerate(listed) if job["id"] == after) + 1 if after else 0
        return {"object": "list", "data": listed[start:start + page_size], "has_more": start + page_size < len(listed)}

    found = _jobs_client(serve, requests).find_launch(token=None, training_file="file-mine",
                                                      max_pages=LOOKUP_MAX_PAGES)
    assert found is not None and found.job_id == "ftjob-mine"
    assert len(requests) == min(3, LOOKUP_MAX_PAGES)
