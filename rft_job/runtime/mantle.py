"""Open-weight RFT jobs through Bedrock mantle's OpenAI-compatible API (OpenAI SDK client).

Used by the launcher (lookup, upload, create, describe, cancel), the tracker (describe) and
any operator tooling. Build the client with clients.mantle_client().
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Mapping

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
# Without metadata a job is recognised by model, training file and creation time; the clocks of
# this function and the service may differ by this much.
CREATED_AT_SKEW_SECONDS = 300
# Creating a job: attempts in all (the same budget as the SDK's retries elsewhere), the
# time each may take, and the pause before attempt n+1 (n times this).
CREATE_ATTEMPTS = clients.MANTLE_MAX_RETRIES + 1
CREATE_TIMEOUT_SECONDS = 30.0
CREATE_RETRY_DELAY_SECONDS = 2.0
# Errors a cancel returns when the job finished between our describe and the cancel call.
_CANCEL_RACE_ERRORS = (openai.BadRequestError, openai.ConflictError, openai.UnprocessableEntityError)


def may_have_been_created(exc: BaseException) -> bool:
    """True when a create call failed in a way that leaves open whether the service acted on it."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500)


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
        """A job an earlier attempt of the same launch created, found by its metadata token.

        Asks the service to filter by metadata; if it rejects the filter, scans the newest
        jobs instead. Either way the token is checked here, so a service that ignores the
        filter cannot produce a false match.
        """
        try:
            first = self._client.fine_tuning.jobs.list(metadata={METADATA_REQUEST_TOKEN: token}, limit=LOOKUP_PAGE_SIZE)
        except openai.BadRequestError:
            first = None
        for job in self._recent_jobs(first):
            if (getattr(job, "metadata", None) or {}).get(METADATA_REQUEST_TOKEN) == token:
                return job_state(job)
        return None

    def find_by_training_file(self, *, base_model: str, training_file: str, created_after: float) -> JobState | None:
        """The job created with this (freshly uploaded, so unique) training file, for a job without metadata.

        Model, training file and a creation time no earlier than the launch (less clock skew)
        must all match: the file id alone already names this launch's upload.
        """
        for job in self._recent_jobs(None):
            created = getattr(job, "created_at", None)
            if (
                getattr(job, "model", None) == base_model
                and getattr(job, "training_file", None) == training_file
                and (not isinstance(created, (int, float)) or created >= created_after - CREATED_AT_SKEW_SECONDS)
            ):
                return job_state(job)
        return None

    def _recent_jobs(self, first: Any) -> Iterator[Any]:
        """The newest jobs, page by page: at most LOOKUP_MAX_PAGES pages and LOOKUP_MAX_JOBS jobs.

        Stops at a page that brings no job it has not seen (a service that repeats its cursor
        would otherwise be followed page after page, each request signed and paid for in time).
        """
        page = first if first is not None else self._client.fine_tuning.jobs.list(limit=LOOKUP_PAGE_SIZE)
        seen: set[str] = set()
        for _ in range(LOOKUP_MAX_PAGES):
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
        SDK's automatic retries are off for it: after a timeout, a connection error, 408, 409,
        429 or 5xx the job may exist anyway, so it is looked up (by the request token in its
        `metadata`, or without metadata by model, training file and creation time) before
        trying again. A lookup that fails, or a last attempt whose answer is lost too, raises
        CreateOutcomeUnknown: the job may exist. Other errors are raised as they are.
        """
        once = self._client.with_options(max_retries=0, timeout=CREATE_TIMEOUT_SECONDS)
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
                try:
                    existing = (
                        self.find_by_request_token(token)
                        if metadata is not None
                        else self.find_by_training_file(
                            base_model=base_model, training_file=training_file, created_after=started_at)
                    )
                except Exception as lookup_error:
                    raise CreateOutcomeUnknown(job_name, exc, lookup_error) from exc
                if existing is not None:
                    return existing
                if attempt >= CREATE_ATTEMPTS:
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
