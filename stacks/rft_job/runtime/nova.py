"""Nova RFT jobs through the Bedrock control-plane API (boto3 `bedrock` client): the JobApi for Variant.NOVA.

Used by the launcher (create, describe, stop), the tracker (describe, stop, deployment) and
rftctl.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from aws_lambda_powertools import Logger
from botocore import exceptions as botocore_exceptions
from botocore.exceptions import ClientError

from .contract import Variant
from .errors import (
    CallContext,
    CreateOutcomeUnknown,
    JobNameTaken,
    LaunchFailure,
    client_error_code,
    failing_as,
    is_not_found,
    is_transient,
)
from .job_api import Connections, JobApi, Launch
from .job_spec import JobSpec, JobSpecError
from .job_state import JobState, JobStatuses, stop_if_running
from .ledger import CREATED, LedgerConflict, LedgerEntry
from .naming import LaunchNames, fingerprint_prefix_from_job_name

logger = Logger(child=True)

STATUSES = JobStatuses(
    running=frozenset({"InProgress"}),
    terminal=frozenset({"Completed", "Failed", "Stopped"}),
    succeeded="Completed",
    stopped="Stopped",
    stopping=frozenset({"Stopping"}),
)
_JOB_ARN = re.compile(
    r"^arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:\d{12}:model-customization-job/"
    r"[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}(?:[a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}(?::[a-z0-9-]{1,63}){0,2}/[a-z0-9]{12}$"
)

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
        variant=Variant.NOVA.value,
        statuses=STATUSES,
        job_id=job.get("jobArn") or job_id,
        status=str(job.get("status") or "Unknown"),
        job_name=job_name,
        custom_model_name=job.get("outputModelName"),
        output_model=job.get("outputModelArn"),
        failure_message=job.get("failureMessage"),
        fingerprint_hint=fingerprint_prefix_from_job_name(job_name) if job_name else None,
    )


def _created_with(job: dict[str, Any], token: str) -> bool:
    # The response's token is optional: a job described without one is taken as ours (as it always was).
    return job.get("clientRequestToken") in (None, token)


def is_job_arn(value: str | None) -> bool:
    return bool(value) and bool(_JOB_ARN.match(value or ""))


class NovaJobs(JobApi):
    variant: ClassVar[Variant] = Variant.NOVA
    statuses: ClassVar[JobStatuses] = STATUSES
    takes_job_names: ClassVar[bool] = True
    unambiguous_ids: ClassVar[bool] = True
    stopped_word: ClassVar[str] = "stopped"
    model_usage: ClassVar[str] = ("Invoke it through an on-demand deployment (bedrock-runtime Converse with the "
                                  "deployment ARN).")
    deploys_models: ClassVar[bool] = True

    def __init__(self, bedrock: Any, region: str = "") -> None:
        self._bedrock = bedrock
        self.region = region

    @classmethod
    def connect(cls, connections: Connections) -> NovaJobs:
        return cls(connections.aws("bedrock"), connections.region)

    @staticmethod
    def is_job_id(value: str | None) -> bool:
        return is_job_arn(value)

    @classmethod
    def check_spec(cls, spec: JobSpec) -> None:
        if not spec.grader_pinned:
            raise JobSpecError("JobSpec.graderPinned must be true for variant nova: a Nova job always calls a "
                               "published grader version")
        if spec.role_arn is None:
            raise JobSpecError("JobSpec.roleArn is required for variant nova: the IAM role Bedrock assumes for the job")
        if spec.output_data_uri is None:
            raise JobSpecError("JobSpec.outputDataUri is required for variant nova: the s3://bucket/prefix/ the job "
                               "writes to")

    @classmethod
    def definitely_rejected(cls, error: BaseException | None) -> bool:
        """Refused by Bedrock (a 4xx that is not a conflict), never sent, or a name another request owns."""
        if isinstance(error, (JobNameTaken, JobSpecError)):
            return True
        if isinstance(error, (ClientError, botocore_exceptions.BotoCoreError)):
            return not may_have_been_created(error)
        return False

    @classmethod
    def custom_model_name(cls, names: LaunchNames) -> str:
        return names.custom_model_name

    @classmethod
    def custom_model_name_of(cls, state: JobState | None) -> str | None:
        return state.custom_model_name if state is not None else None

    def launch(self, launch: Launch) -> str:
        """Create the job (the request token makes a repeated create the same job); returns its ARN."""
        spec, names, region, record = launch.spec, launch.names, self.region, launch.record
        ctx = CallContext(
            operation="CreateModelCustomizationJob",
            permission="bedrock:CreateModelCustomizationJob and iam:PassRole",
            region=region,
            access_hint=f" and that model access to {spec.base_model} is enabled in {region}",
            not_found_hint=(
                f" Check that {spec.base_model} supports reinforcement fine-tuning in {region}, and that the grader "
                f"version {spec.grader_arn}, the service role and the S3 objects exist"
            ),
            rejection_hint=_rejection_hint(spec),
            lookup_hint=f" or `aws bedrock get-model-customization-job --job-identifier {names.job_name} "
                        f"--region {region}`",
        )
        earlier = record.read_earlier()
        if earlier is not None and earlier.job_id:
            # This very request created its job already (same token): that is the job.
            logger.info("an earlier attempt of this request created the job: reusing it",
                        extra={"job_id": earlier.job_id})
            return earlier.job_id
        try:
            record.claim()
        except LaunchFailure as failure:
            if not isinstance(failure.__cause__, LedgerConflict):
                raise
            # An attempt of this same request running at once: the request token makes its create
            # and ours the same job, so go on (without the claim) and return that job.
            logger.info("another attempt of this request claimed the launch; its token makes it one job")
        try:
            with failing_as(ctx):
                job_arn = self.create(spec, names, launch.token)
        except LaunchFailure as failure:
            record.create_failed(failure, rejected=self.definitely_rejected(failure.__cause__))
            raise
        record.settle(request=CREATED, job_id=job_arn)
        return job_arn

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
        job = self._job_named(job_name)
        if job is None:
            return None
        if not _created_with(job, token):
            raise JobNameTaken(job_name, str(job.get("jobArn")))
        return str(job["jobArn"])

    def _job_named(self, job_name: str) -> dict[str, Any] | None:
        try:
            return dict(self._bedrock.get_model_customization_job(jobIdentifier=job_name))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise

    def find(self, entry: LedgerEntry) -> JobState | None:
        """The job of the entry's launch: its name, created with its request token (another's is not ours)."""
        job = self._job_named(entry.job_name)
        if job is None or not _created_with(job, entry.request_token):
            return None
        return job_state(job, entry.job_name)

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

    def describe_call(self, job_id: str, principal: str) -> CallContext:
        return CallContext(operation="GetModelCustomizationJob", permission="bedrock:GetModelCustomizationJob",
                           region=self.region, principal=principal, access_hint=f" on {job_id}")

    def stop_call(self, job_id: str, principal: str) -> CallContext:
        return CallContext(operation="StopModelCustomizationJob",
                           permission="bedrock:GetModelCustomizationJob and bedrock:StopModelCustomizationJob",
                           region=self.region, principal=principal, access_hint=f" on {job_id}")

    def deployment_call(self, model: str, principal: str) -> CallContext:
        return CallContext(operation="CreateCustomModelDeployment",
                           permission="bedrock:GetCustomModelDeployment and bedrock:CreateCustomModelDeployment",
                           region=self.region, principal=principal, access_hint=f" on {model}")

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


def _rejection_hint(spec: JobSpec) -> str:
    if spec.validation_data_uri is None:
        return ""
    return (" If it is the validation data it rejects (AWS's Nova SDK sends none for Nova 2 Lite), leave it out "
            "with -c rft:nova.sendValidationData=false.")
