"""Nova RFT jobs through the Bedrock control-plane API (boto3 `bedrock` client).

Used by the launcher (create, describe, stop), the tracker (describe, deployment) and any
operator tooling.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .errors import client_error_code, is_not_found
from .job_spec import NOVA, JobSpec, LaunchNames, fingerprint_prefix_from_job_name
from .job_state import JobState, stop_if_running

CUSTOMIZATION_TYPE = "REINFORCEMENT_FINE_TUNING"
# Errors StopModelCustomizationJob returns when the job left InProgress between our describe
# and the stop call.
_STOP_RACE_CODES = frozenset({"ValidationException", "ConflictException"})


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
        """Start the job; returns its ARN. The same token returns the same job (idempotent retry)."""
        response = self._bedrock.create_model_customization_job(**create_job_request(spec, names, token))
        return str(response["jobArn"])

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
