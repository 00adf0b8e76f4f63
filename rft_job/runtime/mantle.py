"""Open-weight RFT jobs through Bedrock mantle's OpenAI-compatible API (OpenAI SDK client).

Used by the launcher (lookup, upload, create, describe, cancel), the tracker (describe) and
any operator tooling. Build the client with clients.mantle_client().
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Mapping

import httpx2
import openai
from openai import OpenAI, omit

from . import clients
from .errors import CreateOutcomeUnknown
from .job_spec import MANTLE, METADATA_FINGERPRINT, METADATA_JOB_NAME, METADATA_REQUEST_TOKEN
from .job_state import JobState, stop_if_running

FILE_PURPOSE = "fine-tune"
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
        variant=MANTLE,
        job_id=str(job.id),
        status=str(getattr(job, "status", None) or "unknown"),
        job_name=metadata.get(METADATA_JOB_NAME),
        custom_model_name=getattr(job, "fine_tuned_model", None),
        output_model=getattr(job, "fine_tuned_model", None),
        failure_message=failure_message or None,
        fingerprint_hint=metadata.get(METADATA_FINGERPRINT),
    )


class MantleJobs:
    def __init__(self, client: OpenAI) -> None:
        self._client = client

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def find_by_request_token(self, token: str) -> JobState | None:
        """A job an earlier attempt of the same launch created, found by its metadata token."""
        return self.find_launch(token=token, training_file=None)

    def find_launch(self, *, token: str | None, training_file: str | None, created_after: float | None = None,
                    max_pages: int = LOOKUP_MAX_PAGES, quick: bool = False) -> JobState | None:
        """The job this launch created: its metadata carries `token`, or it trains on `training_file`.

        The training file is the launch's own fresh upload, so its id names this launch whatever
        the service kept of the metadata (and whatever model id it reports); a job on it must not
        predate the launch (`created_after`, less clock skew). With a token the service is first
        asked to filter by metadata; whether it filters, rejects or ignores the filter, every
        match is checked here, and the newest jobs are scanned when the filtered list has none.
        `quick` lookups (after a create) use short timeouts and few retries, to stay within the
        launcher's time.
        """
        lookup = (self._client.with_options(timeout=LOOKUP_TIMEOUT_SECONDS, max_retries=LOOKUP_MAX_RETRIES)
                  if quick else self._client)

        def ours(job: Any) -> bool:
            if token is not None and (getattr(job, "metadata", None) or {}).get(METADATA_REQUEST_TOKEN) == token:
                return True
            if training_file is None or getattr(job, "training_file", None) != training_file:
                return False
            created = getattr(job, "created_at", None)
            return created_after is None or not isinstance(created, (int, float)) or \
                created >= created_after - CREATED_AT_SKEW_SECONDS

        if token is not None:
            try:
                filtered = lookup.fine_tuning.jobs.list(metadata={METADATA_REQUEST_TOKEN: token}, limit=LOOKUP_PAGE_SIZE)
            except openai.BadRequestError:
                filtered = None
            if filtered is not None:
                match = next((job for job in self._recent_jobs(filtered, max_pages) if ours(job)), None)
                if match is not None:
                    return job_state(match)
                if training_file is None:
                    # Filtered, or the filter ignored and so every recent job scanned already.
                    return None
        unfiltered = lookup.fine_tuning.jobs.list(limit=LOOKUP_PAGE_SIZE)
        match = next((job for job in self._recent_jobs(unfiltered, max_pages) if ours(job)), None)
        return job_state(match) if match is not None else None

    @staticmethod
    def _recent_jobs(page: Any, max_pages: int) -> Iterator[Any]:
        """The jobs of `page` and the pages after it: at most `max_pages` pages and LOOKUP_MAX_JOBS jobs.

        Stops at a page that brings no job it has not seen (a service that repeats its cursor
        would otherwise be followed page after page, each request signed and paid for in time).
        """
        seen: set[str] = set()
        for _ in range(max_pages):
            fresh = [job for job in page.data if str(getattr(job, "id", "")) not in seen]
            if not fresh:
                return
            for job in fresh:
                seen.add(str(getattr(job, "id", "")))
                yield job
                if len(seen) >= LOOKUP_MAX_JOBS:
                    return
            if not page.has_next_page():
                return
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
    ) -> JobState:
        """Create the job once, even when an attempt's answer is lost.

        POST /fine_tuning/jobs is not idempotent (the SDK sends no idempotency key), so the
        SDK's automatic retries are off for it. After a timeout, a connection error, 408, 409,
        429 or 5xx the job may exist anyway: it is looked for (by its training file, a fresh
        upload of this launch, and by the request token in its `metadata`). The create is sent
        again only when the request certainly never reached the service (429, no connection);
        otherwise the job is looked for a few more times and, not found, CreateOutcomeUnknown
        says so. A lookup that fails raises CreateOutcomeUnknown too: the job may exist.
        """
        once = self._client.with_options(max_retries=0, timeout=CREATE_TIMEOUT_SECONDS)
        token_if_sent = token if metadata is not None else None
        attempt = 1
        while True:
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
                send_again = never_reached_service(exc) and attempt < CREATE_ATTEMPTS
                for delay in (0.0,) if send_again else LOST_ANSWER_LOOKUP_DELAYS_SECONDS:
                    time.sleep(delay)
                    try:
                        existing = self.find_launch(token=token_if_sent, training_file=training_file,
                                                    created_after=started_at, max_pages=RECENT_LOOKUP_MAX_PAGES,
                                                    quick=True)
                    except Exception as lookup_error:
                        raise CreateOutcomeUnknown(job_name, exc, lookup_error) from exc
                    if existing is not None:
                        return existing
                if not send_again:
                    raise CreateOutcomeUnknown(job_name, exc, None) from exc
            time.sleep(CREATE_RETRY_DELAY_SECONDS * attempt)
            attempt += 1

    def describe(self, job_id: str) -> JobState | None:
        """The job's state, or None if the service no longer knows it (404)."""
        try:
            return job_state(self._client.fine_tuning.jobs.retrieve(job_id))
        except openai.NotFoundError:
            return None

    def cancel(self, job_id: str) -> str:
        """Cancel the job unless it already ended. Returns STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND."""
        return stop_if_running(
            lambda: self.describe(job_id),
            lambda: self._client.fine_tuning.jobs.cancel(job_id),
            is_not_found=lambda exc: isinstance(exc, openai.NotFoundError),
            is_race=lambda exc: isinstance(exc, _CANCEL_RACE_ERRORS),
        )
