"""Nova RFT jobs through the Bedrock control-plane API (boto3 `bedrock` client).

Used by the launcher (create, describe, stop), the tracker (describe, deployment) and any
operator tooling.
"""

from __future__ import annotations

import time
from typing import Any

from botocore import exceptions as botocore_exceptions
from botocore.exceptions import ClientError

from .errors import CreateOutcomeUnknown, JobNameTaken, client_error_code, is_not_found, is_transient
from .job_spec import NOVA, JobSpec, LaunchNames, fingerprint_prefix_from_job_name
from .job_state import JobState, stop_if_running

CUSTOMIZATION_TYPE = "REINFORCEMENT_FINE_TUNING"
# Errors StopModelCustomizationJob returns when the job left InProgress between our describe
# and the stop call.
_STOP_RACE_CODES = frozenset({"ValidationException", "ConflictException"})
# Create calls in all (each one already retried by botocore, standard mode) before an answer
# that keeps getting lost is reported as "the job may exist"; the pause before the next.
CREATE_ATTEMPTS = 2
CREATE_RETRY_DELAY_SECONDS = 5.0


# botocore errors raised before a request is sent: no job can have been started.
_NOT_SENT = (botocore_exceptions.ParamValidationError, botocore_exceptions.NoCredentialsError,
             botocore_exceptions.PartialCredentialsError, botocore_exceptions.NoRegionError,
             botocore_exceptions.ProfileNotFound, botocore_exceptions.UnknownServiceError)


def may_have_been_created(exc: BaseException) -> bool:
    """True when a create failed in a way that leaves open whether Bedrock started the job.

    Throttling and server errors after botocore's retries (an earlier attempt may have been
    answered with a 5xx after Bedrock acted); a conflict, which is what a retry gets when an
    earlier attempt did create the job; and any failure of the transport (timeouts, a connection
    closed or reset mid-answer, an unreadable response), except errors raised before sending.
    """
    if isinstance(exc, ClientError):
        code = client_error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message") or "").lower()
        if code == "ConflictException" or (code == "ValidationException" and "already exist" in message):
            return True
        return is_transient(exc)
    return isinstance(exc, botocore_exceptions.BotoCoreError) and not isinstance(exc, _NOT_SENT)


def create_job_request(spec: JobSpec, names: LaunchNames, token: str) -> dict[str, Any]:
    """Arguments for CreateModelCustomizationJob (kept pure so it can be checked on its own)."""
    rft_config: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": spec.grader_arn}}}
    if spec.hyper_parameters:
        rft_config["hyperParameters"] = dict(spec.hyper_parameters)
    request: dict[str, Any] = {
        "jobName": names.job_name,
        "customModelName": names.custom_model_name,
        "roleArn": spec.role_arn,
        "clientRequestToken": token,
        "baseModelIdentifier": spec.base_model,
        "customizationType": CUSTOMIZATION_TYPE,
        "trainingDataConfig": {"s3Uri": spec.training_data_uri},
        "outputDataConfig": {"s3Uri": spec.output_data_uri},
        "customizationConfig": {"rftConfig": rft_config},
    }
    if spec.validation_data_uri is not None:
        request["validationDataConfig"] = {"validators": [{"s3Uri": spec.validation_data_uri}]}
    if spec.tags:
        tag_list = [{"key": key, "value": value} for key, value in sorted(spec.tags.items())]
        request["jobTags"] = tag_list
        request["customModelTags"] = [dict(tag) for tag in tag_list]
    return request


def job_state(job: dict[str, Any], job_id: str) -> JobState:
    """JobState from a GetModelCustomizationJob response."""
    job_name = job.get("jobName")
    return JobState(
        variant=NOVA,
        job_id=job.get("jobArn") or job_id,
        status=str(job.get("status") or "Unknown"),
        job_name=job_name,
        custom_model_name=job.get("outputModelName"),
        output_model=job.get("outputModelArn"),
        failure_message=job.get("failureMessage"),
        fingerprint_hint=fingerprint_prefix_from_job_name(job_name) if job_name else None,
    )


class NovaJobs:
    def __init__(self, bedrock: Any) -> None:
        self._bedrock = bedrock

    def create(self, spec: JobSpec, names: LaunchNames, token: str) -> str:
        """Start the job once; returns its ARN, even when an attempt's answer was lost.

        The request token makes a repeated create return the same job. After an answer that
        leaves the outcome open (see may_have_been_created) the job is looked up by its name
        and adopted when it carries this launch's token; otherwise the create is sent again.
        If the lookup fails, or the last attempt's answer is lost too, CreateOutcomeUnknown
        says that the job may exist.
        """
        request = create_job_request(spec, names, token)
        attempt = 1
        while True:
            try:
                return str(self._bedrock.create_model_customization_job(**request)["jobArn"])
            except (ClientError, botocore_exceptions.BotoCoreError) as exc:
                if not may_have_been_created(exc):
                    raise
                try:
                    found = self.find_launch(names.job_name, token)
                except JobNameTaken:
                    raise
                except Exception as lookup_error:
                    raise CreateOutcomeUnknown(names.job_name, exc, lookup_error) from exc
                if found is not None:
                    return found
                if attempt >= CREATE_ATTEMPTS:
                    raise CreateOutcomeUnknown(names.job_name, exc, None) from exc
            time.sleep(CREATE_RETRY_DELAY_SECONDS * attempt)
            attempt += 1

    def find_launch(self, job_name: str, token: str) -> str | None:
        """The ARN of the job this launch created (its name, with this token), or None.

        A job of that name with another token is not ours: our names end in the token's first
        characters, so another launch could only take it by a collision; it is reported rather
        than adopted.
        """
        try:
            job = self._bedrock.get_model_customization_job(jobIdentifier=job_name)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        if job.get("clientRequestToken") not in (None, token):
            raise JobNameTaken(job_name, str(job.get("jobArn")))
        return str(job["jobArn"])

    def describe(self, job_id: str) -> JobState | None:
        """The job's state, or None if Bedrock no longer knows it."""
        try:
            job = self._bedrock.get_model_customization_job(jobIdentifier=job_id)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return job_state(job, job_id)

    def stop(self, job_id: str) -> str:
        """Stop the job if it is still InProgress. Returns STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND."""
        return stop_if_running(
            lambda: self.describe(job_id),
            lambda: self._bedrock.stop_model_customization_job(jobIdentifier=job_id),
            is_not_found=is_not_found,
            is_race=lambda exc: client_error_code(exc) in _STOP_RACE_CODES,
        )

    def ensure_deployment(self, *, name: str, model_arn: str, token: str, description: str) -> str:
        """An on-demand deployment of the model, created once; returns its ARN.

        Looking it up by name first keeps a re-invoked tracker from failing on the existing
        name; the deterministic client token covers a retry of the create call itself.
        """
        try:
            existing = self._bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=name)
            return str(existing["customModelDeploymentArn"])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        response = self._bedrock.create_custom_model_deployment(
            modelDeploymentName=name,
            modelArn=model_arn,
            description=description[:2048],
            clientRequestToken=token,
        )
        return str(response["customModelDeploymentArn"])
