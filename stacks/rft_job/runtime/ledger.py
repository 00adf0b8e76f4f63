"""The job ledger: one S3 object per launch, so that no paid job is ever unaccounted for.

The launcher writes an entry before it asks the service for a job (and stops if it cannot),
then records what came of the request: the job id, a definite rejection, or an answer that was
lost (the job may exist). The tracker records each status change and how the job ended; the
operator CLI's `history` reads the entries. The ledger is what identifies a job when the
service cannot: a mantle job created without `metadata` (rft:mantle.sendMetadata false)
carries neither our name nor our fingerprint.

Layout, in the stack's training bucket (retained, versioned, encrypted, SSL only; Bedrock's
service role cannot read it):
  <prefix><job name>.json            the entry
  <prefix>by-id/<sha256(job id)>.json  {"jobName": ...}: finds the entry from a job id
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from .errors import (
    CallContext,
    LaunchFailure,
    client_error_code,
    error_detail,
    failing_as,
)
from .job_spec import JobSpecError, split_s3_uri

logger = Logger(child=True)

SCHEMA_VERSION = 1
BY_ID_FOLDER = "by-id/"
# A stack launches a handful of jobs; the CLI lists at most this many entries.
MAX_ENTRIES = 1000

# What came of the create request.
CREATING = "creating"  # the request is about to be sent, or its answer never came back
CREATED = "created"  # the service returned a job id
UNKNOWN = "unknown"  # the answer was lost and no lookup could tell: a job may exist
REJECTED = "rejected"  # the service refused: no job exists


@dataclass
class LedgerEntry:
    job_name: str
    variant: str
    base_model: str
    fingerprint: str
    request_token: str
    stack_id: str
    launched_at: str  # ISO 8601, UTC
    request: str = CREATING
    job_id: str | None = None
    training_file: str | None = None  # mantle: the file the job was created with
    status: str | None = None  # the service's status, as the tracker last saw it
    output_model: str | None = None
    ended_at: str | None = None
    note: str | None = None  # why the request is unknown or rejected; what the tracker did
    schema: int = field(default=SCHEMA_VERSION)

    def to_json(self) -> str:
        data = {_camel(key): value for key, value in asdict(self).items()}
        return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> LedgerEntry:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a ledger entry is a JSON object")
        known = {_camel(f.name): f.name for f in fields(cls)}
        return cls(**{known[key]: value for key, value in data.items() if key in known})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class LedgerConflict(Exception):
    """Someone else wrote the entry first: another attempt of the same launch is under way."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def id_key(job_id: str) -> str:
    return hashlib.sha256(job_id.encode("utf-8")).hexdigest()


class JobLedger:
    """Reads and writes entries under `s3://bucket/prefix`."""

    def __init__(self, s3: Any, uri: str) -> None:
        self._s3 = s3
        try:
            self.bucket, prefix = split_s3_uri(uri)
        except JobSpecError as exc:
            raise JobSpecError(f"the job ledger location must be an s3://bucket/prefix/ URI (got {uri!r})") from exc
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, job_name: str) -> str:
        return f"{self.prefix}{job_name}.json"

    def get(self, job_name: str) -> LedgerEntry | None:
        return self.get_versioned(job_name)[0]

    def get_versioned(self, job_name: str) -> tuple[LedgerEntry | None, str | None]:
        """The entry and its ETag (for a conditional write), or (None, None)."""
        found = self._get_object_and_etag(self.key(job_name))
        if found is None:
            return None, None
        body, etag = found
        return LedgerEntry.from_json(body), etag

    def put(self, entry: LedgerEntry, *, only_if_absent: bool = False, only_if_etag: str | None = None) -> str:
        """Write the entry; returns its new ETag.

        `only_if_absent` / `only_if_etag` make the write conditional (S3 conditional writes):
        LedgerConflict when another writer created or changed the entry in between, which makes
        the first write of a launch a lock that two concurrent attempts cannot both take.
        """
        conditions: dict[str, str] = {}
        if only_if_absent:
            conditions["IfNoneMatch"] = "*"
        elif only_if_etag is not None:
            conditions["IfMatch"] = only_if_etag
        try:
            response = self._s3.put_object(Bucket=self.bucket, Key=self.key(entry.job_name),
                                           Body=entry.to_json().encode("utf-8"), ContentType="application/json",
                                           **conditions)
        except ClientError as exc:
            if client_error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise LedgerConflict(f"the ledger entry {self.key(entry.job_name)} was written by someone else") \
                    from exc
            raise
        if entry.job_id:
            pointer = json.dumps({"jobName": entry.job_name, "jobId": entry.job_id}).encode("utf-8")
            self._s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}{BY_ID_FOLDER}{id_key(entry.job_id)}.json",
                                Body=pointer, ContentType="application/json")
        return str(response.get("ETag") or "")

    def update(self, job_name: str, **changes: Any) -> LedgerEntry | None:
        """Apply changes to an entry (None if it does not exist); writes only when something changed."""
        entry = self.get(job_name)
        if entry is None:
            return None
        changed = replace(entry, **changes)
        if changed != entry:
            self.put(changed)
        return changed

    def find_by_job_id(self, job_id: str) -> LedgerEntry | None:
        body = self._get_object(f"{self.prefix}{BY_ID_FOLDER}{id_key(job_id)}.json")
        if body is None:
            return None
        pointer = json.loads(body)
        entry = self.get(str(pointer.get("jobName") or ""))
        return entry if entry is not None and entry.job_id == job_id else None

    def entries(self) -> tuple[list[LedgerEntry], list[str]]:
        """Every entry (at most MAX_ENTRIES) in key order, and the keys of objects that do not parse."""
        paginator = self._s3.get_paginator("list_objects_v2")
        found: list[LedgerEntry] = []
        unreadable: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                name = key[len(self.prefix):]
                if "/" in name or not name.endswith(".json"):
                    continue  # the by-id pointers
                body = self._get_object(key)
                try:
                    if body is not None:
                        found.append(LedgerEntry.from_json(body))
                except (ValueError, TypeError):
                    unreadable.append(key)
                if len(found) + len(unreadable) >= MAX_ENTRIES:
                    return found, unreadable
        return found, unreadable

    def _get_object(self, key: str) -> bytes | None:
        found = self._get_object_and_etag(key)
        return found[0] if found is not None else None

    def _get_object_and_etag(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when it does not exist.

        S3 answers a missing key with 403 instead of 404 unless the caller may list the bucket,
        and whether a ListBucket grant limited by `s3:prefix` counts for that is not documented:
        a 403 is settled by listing the key itself (a prefix the grant covers).
        """
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read()), str(response.get("ETag") or "")
        except ClientError as exc:
            code = client_error_code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code in ("AccessDenied", "403"):
                listed = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1).get("Contents", [])
                if not any(item.get("Key") == key for item in listed):
                    return None
            raise


# Another attempt of the same request claimed the launch: how long to wait for its outcome.
CONCURRENT_ATTEMPT_WAIT_SECONDS = 90.0
CONCURRENT_ATTEMPT_POLL_SECONDS = 5.0


class LaunchRecord:
    """One launch's entry in the job ledger: read first, claimed before the create, then settled.

    The claim is a conditional write (absent, or unchanged since it was read), so two attempts of
    the same request running at once cannot both go on to create a job: the second one gets
    LedgerConflict. Writes after the create are best effort, and never replace an entry that
    names a job with one that does not. Without a ledger (a stack from before it) every method
    does nothing.
    """

    def __init__(self, ledger: JobLedger | None, entry: LedgerEntry, region: str,
                 deadline: float | None = None) -> None:
        self.ledger = ledger
        self.entry = entry
        self.region = region
        self.deadline = deadline
        self.etag: str | None = None
        self.earlier: LedgerEntry | None = None

    def read_earlier(self) -> LedgerEntry | None:
        """The entry an earlier attempt of this same request wrote, if any (the launcher was re-invoked)."""
        if self.ledger is None:
            return None
        ctx = CallContext(operation=f"Reading the job ledger {self.ledger.uri} (s3:GetObject)",
                          permission="s3:GetObject and s3:ListBucket", region=self.region,
                          access_hint=f" on {self.ledger.uri}*")
        with failing_as(ctx):
            self.earlier, self.etag = self.ledger.get_versioned(self.entry.job_name)
        if self.earlier is not None and self.earlier.request_token != self.entry.request_token:
            raise LaunchFailure(
                f"No job was started: the job ledger already holds {self.ledger.key(self.entry.job_name)} for another "
                "request (its request token differs). Redeploy: a new request gets a new name."
            )
        if self.earlier is not None and self.earlier.request != REJECTED:
            # The first attempt's launch time is when the request first went out.
            self.entry = replace(self.entry, launched_at=self.earlier.launched_at)
        return self.earlier

    def claim(self) -> None:
        """Write the entry before the create request; a launch that cannot be recorded does not start.

        Raises LaunchFailure, caused by LedgerConflict when another attempt of this request
        claimed the launch first.
        """
        if self.ledger is None:
            return
        ctx = CallContext(
            operation=f"Recording the launch in the job ledger {self.ledger.uri} (s3:PutObject, before any job "
                      "was created)",
            permission="s3:GetObject, s3:ListBucket and s3:PutObject",
            region=self.region,
            access_hint=f" on {self.ledger.uri}*",
        )
        with failing_as(ctx):
            self.etag = self.ledger.put(self.entry, only_if_absent=self.earlier is None,
                                        only_if_etag=self.etag if self.earlier is not None else None)

    def settle(self, **changes: Any) -> None:
        """Record what came of the request (best effort: the job exists whatever the ledger says)."""
        if self.ledger is None:
            return
        self.entry = replace(self.entry, **changes)
        try:
            latest, etag = self.ledger.get_versioned(self.entry.job_name)
            if latest is not None and latest.job_id and not self.entry.job_id:
                logger.warning("the ledger entry names a job already: not replacing it with a failure",
                               extra={"entry": latest.to_json(), "failure": self.entry.note})
                return
            self.etag = self.ledger.put(self.entry, only_if_absent=latest is None, only_if_etag=etag)
        except Exception as exc:
            logger.warning("could not record the launch outcome in the job ledger",
                           extra={"entry": self.entry.to_json(), "detail": error_detail(exc)})

    def create_failed(self, failure: LaunchFailure, *, rejected: bool) -> None:
        """Record a failed create: `rejected` only for a definite refusal, else `unknown` (may exist)."""
        self.settle(request=REJECTED if rejected else UNKNOWN, note=str(failure))

    def await_concurrent_attempt(self) -> LedgerEntry | None:
        """The entry of an attempt of this request that claimed the launch first, once it has a job id."""
        assert self.ledger is not None
        wait_until = time.monotonic() + CONCURRENT_ATTEMPT_WAIT_SECONDS
        while True:
            latest = self.ledger.get(self.entry.job_name)
            if latest is None or latest.job_id or latest.request in (REJECTED, UNKNOWN):
                return latest
            if time.monotonic() >= wait_until or (self.deadline is not None and time.monotonic() >= self.deadline):
                return latest
            time.sleep(CONCURRENT_ATTEMPT_POLL_SECONDS)
