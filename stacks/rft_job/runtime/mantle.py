"""Open-weight RFT jobs through Bedrock mantle's OpenAI-compatible API (OpenAI SDK client): the JobApi
for Variant.MANTLE.

Used by the launcher (lookup, upload, create, describe, cancel), the tracker (describe, cancel)
and rftctl. The client comes from clients.mantle_client() (or rftctl's own builder).
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Final

import httpx2
import openai
from aws_lambda_powertools import Logger
from openai import OpenAI, omit

from . import clients
from .contract import UNSET_PARAMETER_VALUES, Variant
from .errors import (
    CallContext,
    CreateOutcomeUnknown,
    JobNameTaken,
    LaunchFailure,
    error_detail,
    failing_as,
)
from .job_api import Connections, JobApi, Launch
from .job_spec import JobSpec, JobSpecError, split_s3_uri
from .job_state import JobState, JobStatuses, stop_if_running
from .ledger import (
    CREATED,
    CREATING,
    UNKNOWN,
    LaunchRecord,
    LedgerConflict,
    LedgerEntry,
)
from .naming import LaunchNames

logger = Logger(child=True)

# OpenAI's fine-tuning statuses, which Bedrock mantle reports (unconfirmed beyond these).
STATUSES = JobStatuses(
    running=frozenset({"validating_files", "queued", "running"}),
    terminal=frozenset({"succeeded", "failed", "cancelled"}),
    succeeded="succeeded",
    stopped="cancelled",
)
# Mantle (OpenAI-style) job ids look like "ftjob-abc123", but Bedrock documents no format. The
# check only keeps out what is certainly not a job id (the Provider framework's placeholder after
# a failed Create, the stack's unset-parameter values, blanks); a stricter guess would make an
# Update relaunch and a Delete skip the cancel for every real id that falls outside it. (An id
# that is unmistakably another API's, a Nova job ARN, is told apart by the registry: job_api.)
# The SDK percent-encodes the id into the URL path and refuses dot segments.
_JOB_ID = re.compile(r"^[A-Za-z0-9][\x21-\x7e]{2,255}$")
_CDK_PLACEHOLDER_PREFIX = "AWSCDK::"

# Mantle jobs carry our identity in `metadata` (OpenAI limits: 16 keys, keys <= 64 chars,
# values <= 512 chars).
METADATA_MAX_KEYS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
METADATA_REQUEST_TOKEN = "rft_request_token"
METADATA_JOB_NAME = "rft_job_name"
METADATA_FINGERPRINT = "rft_fingerprint"
METADATA_STACK_ID = "rft_stack_id"
METADATA_LOGICAL_ID = "rft_logical_id"

CUSTOM_MODEL_NAME = "assigned by the service when the job succeeds: see the model SSM parameter (fine_tuned_model)"

FILE_PURPOSE: Final = "fine-tune"
JSONL_CONTENT_TYPE = "application/jsonl"
# Bound on the idempotency scan when the service ignores the metadata filter (or the job has no
# metadata): a retry comes minutes after the first attempt, so its job is among the newest.
LOOKUP_MAX_JOBS = 500
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = LOOKUP_MAX_JOBS // LOOKUP_PAGE_SIZE
# Right after a create the job is among the very newest: two pages are plenty, and keep the
# lookups inside the launcher's time.
RECENT_LOOKUP_MAX_PAGES = 2
# Each lookup request: short, with a small retry budget (it runs inside the launcher's 14 min).
LOOKUP_TIMEOUT_SECONDS = 15.0
LOOKUP_MAX_RETRIES = 2
# A job found by its training file must not predate the launch by more than this (clock skew).
CREATED_AT_SKEW_SECONDS = 300
# Creating a job: attempts in all (the same budget as the SDK's retries elsewhere), the
# time each may take, and the pause before attempt n+1 (n times this). An attempt is sent again
# only when the previous one certainly never reached the service (see never_reached_service).
CREATE_ATTEMPTS = clients.MANTLE_MAX_RETRIES + 1
CREATE_TIMEOUT_SECONDS = 30.0
CREATE_RETRY_DELAY_SECONDS = 2.0
# After an answer that was lost once the request was sent, the job is looked for after each of
# these pauses (a job still being created, or listed late, shows up in the later lookups) and
# the create is never sent again: the API has no idempotency key, and a second create is a
# second paid job.
LOST_ANSWER_LOOKUP_DELAYS_SECONDS = (2.0, 8.0, 20.0)
# The longest one quick lookup can take: a filtered page and two unfiltered ones, each request
# up to its timeout on every try.
LOOKUP_WORST_SECONDS = 3 * LOOKUP_TIMEOUT_SECONDS * (LOOKUP_MAX_RETRIES + 1)
# A create is sent only with time left for it and for every lookup a lost answer calls for.
TIME_NEEDED_TO_CREATE_SECONDS = (CREATE_TIMEOUT_SECONDS + sum(LOST_ANSWER_LOOKUP_DELAYS_SECONDS)
                                 + len(LOST_ANSWER_LOOKUP_DELAYS_SECONDS) * LOOKUP_WORST_SECONDS)


class NotEnoughTime(Exception):
    """Too little of the invocation is left to create a job and resolve a lost answer: none was sent."""
# Errors a cancel returns when the job finished between our describe and the cancel call.
_CANCEL_RACE_ERRORS = (openai.BadRequestError, openai.ConflictError, openai.UnprocessableEntityError)


def may_have_been_created(exc: BaseException) -> bool:
    """True when a create call failed in a way that leaves open whether the service acted on it.

    Timeouts and connection errors, 408, 409, 429 and 5xx; and a 2xx answer the SDK could not
    read (APIResponseValidationError): then the job certainly exists.
    """
    if isinstance(exc, (openai.APIConnectionError, openai.APIResponseValidationError)):  # includes timeouts
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500)


def never_reached_service(exc: BaseException) -> bool:
    """True when the request certainly started no work: throttled (429), or no connection was made.

    Only then may a create be sent again. A read timeout, a connection lost after sending, 408,
    409 or 5xx may all come after the service created the job.
    """
    if isinstance(exc, openai.RateLimitError):
        return True
    if isinstance(exc, openai.APIConnectionError):
        return isinstance(exc.__cause__, (httpx2.ConnectError, httpx2.ConnectTimeout))
    return False


def reinforcement_method(grader_arn: str, hyper_parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The `method` object of a Bedrock RFT job with a Lambda grader.

    Sent through `extra_body`, not the SDK's typed `method=` argument: the SDK models only
    OpenAI's grader types (string_check, text_similarity, python, score_model, multi), and the
    Bedrock-specific {"type": "lambda"} grader is none of them. extra_body is merged into the
    JSON body verbatim, so the request carries exactly what Bedrock documents.
    """
    reinforcement: dict[str, Any] = {"grader": {"type": "lambda", "lambda": {"function": grader_arn}}}
    if hyper_parameters:
        reinforcement["hyperparameters"] = dict(hyper_parameters)
    return {"type": "reinforcement", "reinforcement": reinforcement}


def job_state(job: Any) -> JobState:
    """JobState from an SDK FineTuningJob."""
    metadata = dict(getattr(job, "metadata", None) or {})
    error = getattr(job, "error", None)
    failure_message = getattr(error, "message", None) if error is not None else None
    return JobState(
        variant=Variant.MANTLE.value,
        statuses=STATUSES,
        job_id=str(job.id),
        status=str(getattr(job, "status", None) or "unknown"),
        job_name=metadata.get(METADATA_JOB_NAME),
        custom_model_name=getattr(job, "fine_tuned_model", None),
        output_model=getattr(job, "fine_tuned_model", None),
        failure_message=failure_message or None,
        fingerprint_hint=metadata.get(METADATA_FINGERPRINT),
    )


def is_job_id(value: str | None) -> bool:
    return (
        bool(value)
        and bool(_JOB_ID.match(value or ""))
        and not (value or "").startswith(_CDK_PLACEHOLDER_PREFIX)
        and value not in UNSET_PARAMETER_VALUES
    )


def mantle_metadata(
    *,
    token: str,
    names: LaunchNames,
    job_fingerprint: str,
    stack_id: str,
    logical_resource_id: str,
    tags: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    """Metadata for a mantle job: our identity first, then as many tags as fit.

    Mantle jobs cannot be tagged, so tags ride along in metadata where they fit the OpenAI
    limits; the second value lists the tag keys that did not fit.
    """
    metadata = {
        METADATA_REQUEST_TOKEN: token,
        METADATA_JOB_NAME: names.job_name,
        METADATA_FINGERPRINT: job_fingerprint,
        METADATA_STACK_ID: stack_id[:METADATA_VALUE_MAX],
        METADATA_LOGICAL_ID: logical_resource_id[:METADATA_VALUE_MAX],
    }
    dropped: list[str] = []
    for key in sorted(tags):
        value = tags[key]
        if (
            len(metadata) < METADATA_MAX_KEYS
            and key not in metadata
            and 0 < len(key) <= METADATA_KEY_MAX
            and len(value) <= METADATA_VALUE_MAX
        ):
            metadata[key] = value
        else:
            dropped.append(key)
    return metadata, dropped


class MantleJobs(JobApi):
    variant: ClassVar[Variant] = Variant.MANTLE
    statuses: ClassVar[JobStatuses] = STATUSES
    takes_job_names: ClassVar[bool] = False  # the API has no job name: rftctl looks names up in the ledger
    unambiguous_ids: ClassVar[bool] = False
    stopped_word: ClassVar[str] = "cancelled"
    model_usage: ClassVar[str] = "Use it as the model id in /v1/chat/completions or /v1/responses on Bedrock mantle."

    def __init__(self, client: OpenAI, region: str = "", s3: Callable[[], Any] | None = None) -> None:
        self._client = client
        self.region = region
        self._s3 = s3

    @classmethod
    def connect(cls, connections: Connections) -> MantleJobs:
        return cls(connections.mantle(), connections.region, lambda: connections.aws("s3"))

    @staticmethod
    def is_job_id(value: str | None) -> bool:
        return is_job_id(value)

    @classmethod
    def definitely_rejected(cls, error: BaseException | None) -> bool:
        """Refused by the service, never sent (throttled, no connection), or not sent for lack of time."""
        if isinstance(error, (JobNameTaken, JobSpecError, NotEnoughTime)):
            return True
        if isinstance(error, openai.OpenAIError):
            return not may_have_been_created(error) or never_reached_service(error)
        return False

    @classmethod
    def custom_model_name(cls, names: LaunchNames) -> str:
        return CUSTOM_MODEL_NAME

    @classmethod
    def custom_model_name_of(cls, state: JobState | None) -> str | None:
        return CUSTOM_MODEL_NAME

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def find(self, entry: LedgerEntry) -> JobState | None:
        """The job of a launch whose create answer was lost: by its request token or training file."""
        started = datetime.fromisoformat(entry.launched_at).timestamp() if entry.launched_at else None
        return self.find_launch(token=entry.request_token, training_file=entry.training_file, created_after=started,
                                quick=True)

    def find_launch(self, *, token: str | None, training_file: str | None, created_after: float | None = None,
                    max_pages: int = LOOKUP_MAX_PAGES, quick: bool = False) -> JobState | None:
        """The job this launch created: its metadata carries `token`, or it trains on `training_file`.

        The training file is the launch's own fresh upload, so its id names this launch whatever
        the service kept of the metadata (and whatever model id it reports); a job on it must not
        predate the launch (`created_after`, less clock skew). With a token the service is first
        asked to filter by metadata; every match is checked here. The newest jobs are scanned
        as well when there is a training file to look for and the filter was honoured (a page
        that ignored the filter held the newest jobs already), or when the filter was rejected.
        `quick` lookups use short timeouts and few retries, to stay within the launcher's time.
        """
        lookup = (self._client.with_options(timeout=LOOKUP_TIMEOUT_SECONDS, max_retries=LOOKUP_MAX_RETRIES)
                  if quick else self._client)

        def carries_token(job: Any) -> bool:
            return token is not None and (getattr(job, "metadata", None) or {}).get(METADATA_REQUEST_TOKEN) == token

        def ours(job: Any) -> bool:
            if carries_token(job):
                return True
            if training_file is None or getattr(job, "training_file", None) != training_file:
                return False
            created = getattr(job, "created_at", None)
            return created_after is None or not isinstance(created, (int, float)) or \
                created >= created_after - CREATED_AT_SKEW_SECONDS

        if token is not None:
            try:
                filtered = lookup.fine_tuning.jobs.list(metadata={METADATA_REQUEST_TOKEN: token},
                                                        limit=LOOKUP_PAGE_SIZE)
            except openai.BadRequestError:
                filtered = None
            if filtered is not None:
                seen = list(self._recent_jobs(filtered, max_pages))
                match = next((job for job in seen if ours(job)), None)
                if match is not None:
                    return job_state(match)
                ignored_filter = any(not carries_token(job) for job in seen)
                if training_file is None or ignored_filter:
                    return None
        unfiltered = lookup.fine_tuning.jobs.list(limit=LOOKUP_PAGE_SIZE)
        match = next((job for job in self._recent_jobs(unfiltered, max_pages) if ours(job)), None)
        return job_state(match) if match is not None else None

    @staticmethod
    def _recent_jobs(page: Any, max_pages: int) -> Iterator[Any]:
        """The jobs of `page` and the pages after it: at most `max_pages` pages (so at most that many
        requests, whatever page size the service keeps to) and LOOKUP_MAX_JOBS jobs.

        Stops at a cursor it has followed before and at a page that brings no job it has not seen: a
        service that repeats its cursor would otherwise be followed page after page, each request
        signed and paid for in the launcher's time.
        """
        seen: set[str] = set()
        cursors: set[str] = set()
        for number in range(1, max_pages + 1):
            fresh = [job for job in page.data if str(getattr(job, "id", "")) not in seen]
            if not fresh:
                return
            for job in fresh:
                seen.add(str(getattr(job, "id", "")))
                yield job
                if len(seen) >= LOOKUP_MAX_JOBS:
                    return
            # The SDK asks for the next page after the last job of this one (`after`).
            cursor = str(getattr(page.data[-1], "id", ""))
            if number == max_pages or cursor in cursors or not page.has_next_page():
                return
            cursors.add(cursor)
            page = page.get_next_page()

    def upload_jsonl(self, filename: str, content: bytes) -> str:
        uploaded = self._client.files.create(file=(filename, content, JSONL_CONTENT_TYPE), purpose=FILE_PURPOSE)
        return str(uploaded.id)

    def delete_file(self, file_id: str) -> None:
        self._client.files.delete(file_id)

    def create(
        self,
        *,
        base_model: str,
        training_file: str,
        validation_file: str | None,
        metadata: Mapping[str, str] | None,
        grader_arn: str,
        hyper_parameters: Mapping[str, Any],
        job_name: str,
        token: str,
        started_at: float,
        deadline: float | None = None,
    ) -> JobState:
        """Create the job once, even when an attempt's answer is lost.

        POST /fine_tuning/jobs is not idempotent (the SDK sends no idempotency key), so the
        SDK's automatic retries are off for it. A request that certainly never reached the
        service (429, no connection) is sent again, up to CREATE_ATTEMPTS; if none of them got
        through, that last error is raised: no job exists. After any other timeout, connection
        error, 408, 409 or 5xx the job may exist, so it is never created again: it is looked for
        (by its training file, a fresh upload of this launch, and by the request token in its
        `metadata`) after each of LOST_ANSWER_LOOKUP_DELAYS_SECONDS; not found, or when the
        lookups failed, CreateOutcomeUnknown says so. `deadline` (time.monotonic) bounds it all:
        without time for a create and its lookups, NotEnoughTime is raised and nothing is sent.
        """
        once = self._client.with_options(max_retries=0, timeout=CREATE_TIMEOUT_SECONDS)
        token_if_sent = token if metadata is not None else None
        attempt = 1
        while True:
            if deadline is not None and deadline - time.monotonic() < TIME_NEEDED_TO_CREATE_SECONDS:
                raise NotEnoughTime(
                    f"{deadline - time.monotonic():.0f} s left, {TIME_NEEDED_TO_CREATE_SECONDS:.0f} s needed to create "
                    "the job and resolve a lost answer"
                )
            try:
                job = once.fine_tuning.jobs.create(
                    model=base_model,
                    training_file=training_file,
                    validation_file=validation_file if validation_file is not None else omit,
                    metadata=dict(metadata) if metadata is not None else omit,
                    extra_body={"method": reinforcement_method(grader_arn, hyper_parameters)},
                )
                return job_state(job)
            except openai.OpenAIError as exc:
                if not may_have_been_created(exc):
                    raise
                if not never_reached_service(exc):
                    return self._after_lost_answer(exc, job_name, token_if_sent, training_file, started_at, deadline)
                # Insurance before sending again: a throttle answered after the work was done would
                # otherwise make a second job. A lookup that fails here proves nothing either way.
                try:
                    existing = self.find_launch(
                        token=token_if_sent,
                        training_file=training_file,
                        created_after=started_at,
                        max_pages=RECENT_LOOKUP_MAX_PAGES,
                        quick=True,
                    )
                except Exception:
                    existing = None
                if existing is not None:
                    return existing
                if attempt >= CREATE_ATTEMPTS:
                    raise  # none of the attempts reached the service: no job exists
            time.sleep(CREATE_RETRY_DELAY_SECONDS * attempt)
            attempt += 1

    def _after_lost_answer(
        self,
        exc: openai.OpenAIError,
        job_name: str,
        token: str | None,
        training_file: str,
        started_at: float,
        deadline: float | None,
    ) -> JobState:
        """The job a create whose answer was lost made, or CreateOutcomeUnknown.

        One failed lookup does not end the search: the next pause may bring the job. The last
        lookup error is reported only when no lookup could look.
        """
        lookup_error: BaseException | None = None
        for delay in LOST_ANSWER_LOOKUP_DELAYS_SECONDS:
            if deadline is not None and deadline - time.monotonic() < delay + LOOKUP_WORST_SECONDS:
                lookup_error = lookup_error or TimeoutError("no time left in the invocation for another lookup")
                break
            time.sleep(delay)
            try:
                existing = self.find_launch(
                    token=token,
                    training_file=training_file,
                    created_after=started_at,
                    max_pages=RECENT_LOOKUP_MAX_PAGES,
                    quick=True,
                )
            except Exception as error:  # throttled, denied, lost: try again after the next pause
                lookup_error = error
                continue
            if existing is not None:
                return existing
        raise CreateOutcomeUnknown(job_name, exc, lookup_error) from exc

    def launch(self, launch: Launch) -> str:
        """Upload the datasets through the Files API and create the job once; returns its id.

        POST /fine_tuning/jobs has no idempotency key, so this launch's own job is first looked
        for (a re-invoked request: by its ledger entry or the request token in its metadata),
        and a create whose answer is lost is resolved by looking the job up (see create).
        """
        spec, names, region, record = launch.spec, launch.names, self.region, launch.record
        base_url = self.base_url
        earlier = record.read_earlier()

        existing = self._earlier_attempt(spec, launch.token, earlier)
        if existing is not None:
            logger.info("an earlier attempt already created this job: reusing it", extra={"job_id": existing.job_id})
            record.settle(
                request=CREATED, job_id=existing.job_id, training_file=(earlier.training_file if earlier else None)
            )
            return existing.job_id

        training_bytes = self._read_s3_object(spec.training_data_uri, "training data", "trainingDataUri")
        validation_bytes = (
            self._read_s3_object(spec.validation_data_uri, "validation data", "validationDataUri")
            if spec.validation_data_uri is not None
            else None
        )

        uploaded: list[str] = []
        upload = CallContext(
            operation="Uploading the training data through the Files API (POST /files)",
            permission="bedrock-mantle:CreateFile",
            region=region,
            base_url=base_url,
        )
        with failing_as(upload):
            training_file = self.upload_jsonl(_file_name(spec.training_data_uri), training_bytes)
            uploaded.append(training_file)
            validation_file = None
            if spec.validation_data_uri is not None and validation_bytes is not None:
                validation_file = self.upload_jsonl(_file_name(spec.validation_data_uri), validation_bytes)
                uploaded.append(validation_file)

        metadata: dict[str, str] | None = None
        if spec.send_metadata:
            metadata, dropped_tags = mantle_metadata(
                token=launch.token,
                names=names,
                job_fingerprint=launch.fingerprint,
                stack_id=launch.stack_id,
                logical_resource_id=launch.logical_resource_id,
                tags=spec.tags,
            )
            if dropped_tags:
                logger.warning("tags that did not fit the job metadata were left out", extra={"dropped": dropped_tags})

        record.entry = replace(record.entry, training_file=training_file)
        try:
            record.claim()
        except LaunchFailure as failure:
            self._delete_files_quietly(uploaded)
            if isinstance(failure.__cause__, LedgerConflict):
                return _after_concurrent_attempt(record, names)
            raise
        create = CallContext(
            operation="CreateFineTuningJob (POST /fine_tuning/jobs)",
            permission="bedrock-mantle:CreateFineTuningJob",
            region=region,
            base_url=base_url,
            access_hint=f" and that {spec.base_model} is enabled for fine-tuning in {region}",
            rejection_hint=_rejection_hint(spec),
            lookup_hint=(
                f" (the job's metadata.{METADATA_JOB_NAME} is {names.job_name})"
                if spec.send_metadata
                else f" (the job's training_file is {training_file})"
            ),
            retries=0,
        )
        try:
            with failing_as(create):
                state = self.create(
                    base_model=spec.base_model,
                    training_file=training_file,
                    validation_file=validation_file,
                    metadata=metadata,
                    grader_arn=spec.grader_arn,
                    hyper_parameters=spec.hyper_parameters,
                    job_name=names.job_name,
                    token=launch.token,
                    started_at=time.time(),
                    deadline=launch.deadline,
                )
        except LaunchFailure as failure:
            rejected = self.definitely_rejected(failure.__cause__)
            if rejected:
                self._delete_files_quietly(uploaded)
            record.create_failed(failure, rejected=rejected)
            raise
        record.settle(request=CREATED, job_id=state.job_id)
        return state.job_id

    def _earlier_attempt(self, spec: JobSpec, token: str, earlier: LedgerEntry | None) -> JobState | None:
        """A job an earlier attempt of this same request created (a re-invoked launcher), or None.

        Found by its ledger entry (its job id, or the file it was created with) or by the request
        token in its metadata. An earlier attempt that may have created a job that is not found now
        stops this one: its job may still appear, and a second create would be a second paid job.
        """
        lookup = CallContext(
            operation="ListFineTuningJobs (looking for a job an earlier attempt started)",
            permission="bedrock-mantle:ListFineTuningJobs and bedrock-mantle:GetFineTuningJob",
            region=self.region,
            base_url=self.base_url,
            retries=LOOKUP_MAX_RETRIES,
        )
        training_file = earlier.training_file if earlier is not None else None
        found: JobState | None = None
        with failing_as(lookup):
            if earlier is not None and earlier.job_id:
                found = self.describe(earlier.job_id)
            elif spec.send_metadata or training_file is not None:
                started = datetime.fromisoformat(earlier.launched_at).timestamp() if earlier is not None else None
                found = self.find_launch(
                    token=token if spec.send_metadata else None,
                    training_file=training_file,
                    created_after=started,
                    quick=True,
                )
        if found is not None:
            return found
        if earlier is not None and (earlier.job_id or earlier.request in (CREATING, UNKNOWN)):
            what = (
                f"created job {earlier.job_id}, which the service does not know (yet)"
                if earlier.job_id
                else f"may have created job {earlier.job_name} (its create got no definite answer), and no such "
                "job was found"
            )
            raise LaunchFailure(
                f"No second job was started: an earlier attempt of this same request {what}. Check with "
                f"`rftctl history`; if it appears, stop it with `rftctl stop --job {earlier.job_name}`. Then deploy "
                "again: a new request launches a new job."
            )
        return None

    def _read_s3_object(self, uri: str, label: str, field: str) -> bytes:
        assert self._s3 is not None, "a launch needs the S3 client (MantleJobs.connect)"
        bucket, key = split_s3_uri(uri)
        ctx = CallContext(
            operation=f"Reading the {label} {uri} (s3:GetObject)",
            permission="s3:GetObject (and kms:Decrypt if the bucket uses a KMS key)",
            region=self.region,
            access_hint=f" on {uri}",
            not_found_hint=f" Check that the training-data deployment uploaded it and that JobSpec.{field} names it",
        )
        with failing_as(ctx):
            return bytes(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read())

    def _delete_files_quietly(self, file_ids: list[str]) -> None:
        for file_id in file_ids:
            try:
                self.delete_file(file_id)
            except Exception as exc:  # cleanup only: the launch failure is what matters
                logger.warning(
                    "could not delete an uploaded file", extra={"file_id": file_id, "detail": error_detail(exc)}
                )

    def describe(self, job_id: str) -> JobState | None:
        """The job's state, or None if the service no longer knows it (404)."""
        try:
            return job_state(self._client.fine_tuning.jobs.retrieve(job_id))
        except openai.NotFoundError:
            return None

    def describe_call(self, job_id: str, principal: str) -> CallContext:
        return CallContext(
            operation="GetFineTuningJob (GET /fine_tuning/jobs/{id})",
            permission="bedrock-mantle:GetFineTuningJob",
            region=self.region,
            principal=principal,
            base_url=self.base_url,
        )

    def stop_call(self, job_id: str, principal: str) -> CallContext:
        return CallContext(
            operation="CancelFineTuningJob (POST /fine_tuning/jobs/{id}/cancel)",
            permission="bedrock-mantle:GetFineTuningJob and bedrock-mantle:CancelFineTuningJob",
            region=self.region,
            principal=principal,
            base_url=self.base_url,
        )

    def stop(self, job_id: str) -> str:
        """Cancel the job unless it already ended. Returns STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND."""
        return stop_if_running(
            lambda: self.describe(job_id),
            lambda: self._client.fine_tuning.jobs.cancel(job_id),
            is_not_found=lambda exc: isinstance(exc, openai.NotFoundError),
            is_race=lambda exc: isinstance(exc, _CANCEL_RACE_ERRORS),
        )


def _after_concurrent_attempt(record: LaunchRecord, names: LaunchNames) -> str:
    """Another attempt of this request claimed the launch while this one uploaded: its job, or a refusal."""
    latest = record.await_concurrent_attempt()
    if latest is not None and latest.job_id:
        logger.info("a concurrent attempt of this request created the job: reusing it", extra={"job_id": latest.job_id})
        return latest.job_id
    outcome = f"its outcome is {latest.request}" if latest is not None else "its entry is gone"
    raise LaunchFailure(
        f"No second job was started: another attempt of this same request claimed the launch of job "
        f"{names.job_name} first, and {outcome}. Check with `rftctl history`; stop it with "
        f"`rftctl stop --job {names.job_name}` if it runs and you do not want it."
    )


def _file_name(uri: str) -> str:
    return posixpath.basename(split_s3_uri(uri)[1]) or "data.jsonl"


def _rejection_hint(spec: JobSpec) -> str:
    """The fields we send that no AWS example does, each with the switch that leaves it out."""
    sent = []
    if spec.validation_data_uri is not None:
        sent.append("validation_file (rft:mantle.sendValidationFile=false)")
    if spec.send_metadata:
        sent.append("metadata (rft:mantle.sendMetadata=false)")
    if spec.grader_pinned:
        sent.append("a grader version ARN (rft:mantle.pinGraderVersion=false)")
    if not sent:
        return ""
    return f" No AWS example sends {', '.join(sent)}; if the service rejects one, turn it off with -c."
