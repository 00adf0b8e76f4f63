"""The job ledger: entries round-trip through S3 and are found by name or by job id."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from stacks.rft_job.runtime.job_spec import JobSpecError
from stacks.rft_job.runtime.ledger import CREATED, CREATING, JobLedger, LedgerEntry
from tests.stacks.rft_job.builders import StubbedAws

URI = "s3://rft-data-bucket/jobs/"


def entry(name: str = "bedrock-rft-nova2lite-0123abcd-4567ef01", **changes) -> LedgerEntry:
    return LedgerEntry(job_name=name, variant="mantle", base_model="openai.gpt-oss-20b", fingerprint="f" * 64,
                       request_token="t" * 64, stack_id="arn:aws:cloudformation:us-west-2:123456789012:stack/S/1",
                       launched_at="2026-12-01T08:00:00+00:00", **changes)


def test_entries_round_trip_and_are_found_by_job_id() -> None:
    aws = StubbedAws("us-west-2")
    ledger = JobLedger(aws.client("s3"), URI)
    assert ledger.get(entry().job_name) is None and ledger.find_by_job_id("ftjob-1") is None
    ledger.put(entry())
    assert ledger.get(entry().job_name) == entry() and entry().request == CREATING
    ledger.update(entry().job_name, request=CREATED, job_id="ftjob-1", training_file="file-1")
    found = ledger.find_by_job_id("ftjob-1")
    assert found is not None and (found.request, found.training_file) == (CREATED, "file-1")
    # JSON keys are camelCase, as the rest of the stack's contracts.
    assert '"jobName": "bedrock-rft-nova2lite-0123abcd-4567ef01"' in found.to_json()


def test_listing_skips_the_id_pointers_and_reports_unreadable_objects() -> None:
    aws = StubbedAws("us-west-2")
    ledger = JobLedger(aws.client("s3"), URI)
    ledger.put(entry("job-a", job_id="ftjob-a"))
    ledger.put(entry("job-b"))
    aws.ledger_bucket.objects[("rft-data-bucket", "jobs/broken.json")] = b"{not json"
    found, unreadable = ledger.entries()
    assert [e.job_name for e in found] == ["job-a", "job-b"]
    assert unreadable == ["jobs/broken.json"]


def test_an_update_that_changes_nothing_writes_nothing() -> None:
    aws = StubbedAws("us-west-2")
    ledger = JobLedger(aws.client("s3"), URI)
    ledger.put(entry())
    puts = len(aws.calls("PutObject"))
    ledger.update(entry().job_name, status=None)
    assert len(aws.calls("PutObject")) == puts
    assert ledger.update("no-such-job", status="running") is None


def test_the_location_must_be_an_s3_prefix() -> None:
    with pytest.raises(JobSpecError, match="must be an s3://bucket/prefix/ URI"):
        JobLedger(object(), "https://example.com/jobs/")


def test_a_missing_entry_answered_with_403_is_settled_by_listing_it() -> None:
    """S3 says 403 for a missing key when it does not count the prefix-limited ListBucket grant."""
    aws = StubbedAws("us-west-2")
    ledger = JobLedger(aws.client("s3"), URI)
    aws.ledger_bucket.fail("GetObject", "AccessDenied")
    assert ledger.get("never-launched") is None
    [listed] = aws.calls("ListObjectsV2")
    assert (listed["Prefix"], listed["MaxKeys"]) == ("jobs/never-launched.json", 1)
    # An entry that is there and cannot be read is a real denial.
    ledger.put(entry())
    aws.ledger_bucket.fail("GetObject", "AccessDenied")
    with pytest.raises(ClientError, match="AccessDenied"):
        ledger.get(entry().job_name)


def test_conditional_writes_make_the_first_write_a_lock() -> None:
    from stacks.rft_job.runtime.ledger import LedgerConflict

    aws = StubbedAws("us-west-2")
    ledger = JobLedger(aws.client("s3"), URI)
    etag = ledger.put(entry(), only_if_absent=True)
    with pytest.raises(LedgerConflict):
        ledger.put(entry(note="second"), only_if_absent=True)
    changed = ledger.put(entry(note="update"), only_if_etag=etag)
    with pytest.raises(LedgerConflict):
        ledger.put(entry(note="stale"), only_if_etag=etag)
    assert ledger.get_versioned(entry().job_name) == (entry(note="update"), changed)
