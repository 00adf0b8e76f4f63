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
                filtered = lookup.fine_tuning.jobs.list(metadata={METADATA_REQUEST_TOKEN: token}, limit=LOOKUP_PAGE_SIZE)
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
        """The jobs of `page` and the pages after it: at most `max_pages` pages and LOOKUP_MAX_JOBS jobs.

        Stops at a page that brings no job it has not seen (a service that repeats its cursor
        would otherwise be followed page after page, each request signed and paid for in time).
        """
        seen: set[str] = set()
        for number in range(1, max_pages + 1):
            fresh = [job for job in page.data if str(getattr(job, "id", "")) not in seen]
            if not fresh:
                return
            for job in fresh:
                seen.add(str(getattr(job, "id", "")))
                yield job
                if len(seen) >= LOOKUP_MAX_JOBS:
                    return
            if number == max_pages or not page.has_next_page():
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
                    "the job and resolve a lost answer")
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
                    existing = self.find_launch(token=token_if_sent, training_file=training_file,
                                                created_after=started_at, max_pages=RECENT_LOOKUP_MAX_PAGES, quick=True)
                except Exception:
                    existing = None
                if existing is not None:
                    return existing
                if attempt >= CREATE_ATTEMPTS:
                    raise  # none of the attempts reached the service: no job exists
            time.sleep(CREATE_RETRY_DELAY_SECONDS * attempt)
            attempt += 1

    def _after_lost_answer(self, exc: openai.OpenAIError, job_name: str, token: str | None, training_file: str,
                           started_at: float, deadline: float | None) -> JobState:
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
                existing = self.find_launch(token=token, training_file=training_file, created_after=started_at,
                                            max_pages=RECENT_LOOKUP_MAX_PAGES, quick=True)
            except Exception as error:  # throttled, denied, lost: try again after the next pause
                lookup_error = error
                continue
            if existing is not None:
                return existing
        raise CreateOutcomeUnknown(job_name, exc, lookup_error) from exc

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
