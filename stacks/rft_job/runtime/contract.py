"""The names the stack's constructs, the job's Lambdas and rftctl share: each one defined here only.

A name that crosses a layer (the construct writes it, the runtime or the CLI reads it) is a
contract: spelled twice, the two spellings drift and the reader finds nothing. This module is
plain data and imports nothing heavy, so the constructs (at synth), the launcher and tracker
(in their Lambda asset) and rftctl all import it. The grader's own names (its reward metrics)
are in lambda_reward/runtime/contract.py: the grader's asset ships only its own folder, and a
name in it is part of the grader's code fingerprint.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Variant(StrEnum):
    """Which Bedrock API runs the job (one adapter each: see job_api.py)."""

    NOVA = "nova"  # bedrock CreateModelCustomizationJob
    MANTLE = "mantle"  # bedrock-mantle's OpenAI-compatible fine-tuning API


VARIANTS: Final = tuple(variant.value for variant in Variant)

# --- the job custom resource (construct -> launcher; launcher -> stack outputs) -------------

JOB_RESOURCE_TYPE: Final = "Custom::BedrockRftJob"


class JobProperty:
    """ResourceProperties of the job resource."""

    SPEC: Final = "JobSpec"  # the JSON job specification (job_spec.py)
    FINGERPRINT: Final = "JobFingerprint"  # what the job trains, computed at synth (cdk diff shows it)


class JobAttribute:
    """The resource's Data (Fn::GetAtt), as the launcher returns it."""

    JOB_ID: Final = "JobId"
    JOB_NAME: Final = "JobName"
    CUSTOM_MODEL_NAME: Final = "CustomModelName"
    CONSOLE_URL: Final = "ConsoleUrl"
    FINGERPRINT: Final = "Fingerprint"


# --- the tracker (state machine input and the tracker Lambda's result) ----------------------


class TrackerField:
    """Keys of the tracker state machine's state: its input, and what each poll returns."""

    VARIANT: Final = "variant"
    JOB_ID: Final = "jobId"
    JOB_NAME: Final = "jobName"
    POLLS: Final = "polls"
    STATUS: Final = "status"
    TERMINAL: Final = "terminal"
    UNKNOWN_SINCE: Final = "unknownSince"
    GAVE_UP: Final = "gaveUp"
    STOP_FAILURE_NOTIFIED: Final = "stopFailureNotified"


def tracker_input(variant: str, job_id: str, job_name: str) -> dict[str, object]:
    """The input that starts tracking a job from its first poll (the launcher; a restart by hand)."""
    return {TrackerField.VARIANT: str(variant), TrackerField.JOB_ID: job_id, TrackerField.JOB_NAME: job_name,
            TrackerField.POLLS: 0}


class TrackerEnv:
    """Environment variables of the tracker Lambda, set by its construct."""

    VARIANT: Final = "VARIANT"
    STATUS_PARAMETER: Final = "STATUS_PARAMETER"
    MODEL_PARAMETER: Final = "MODEL_PARAMETER"
    FAILURE_PARAMETER: Final = "FAILURE_PARAMETER"
    JOB_ID_PARAMETER: Final = "JOB_ID_PARAMETER"
    DEPLOYMENT_PARAMETER: Final = "DEPLOYMENT_PARAMETER"
    TOPIC_ARN: Final = "TOPIC_ARN"
    CREATE_DEPLOYMENT: Final = "CREATE_DEPLOYMENT"
    STACK_ID: Final = "STACK_ID"
    LEDGER_URI: Final = "LEDGER_URI"
    STATE_MACHINE_ARN: Final = "STATE_MACHINE_ARN"


class LauncherEnv:
    """Environment variables of the launcher Lambda beyond the mantle endpoint, set by its construct."""

    # The stack's topic: a stack delete stops the job and deletes its tracker, so the launcher says so.
    TOPIC_ARN: Final = TrackerEnv.TOPIC_ARN


# Both job Lambdas: the mantle endpoint, when rft:mantle.baseUrl overrides the default.
MANTLE_BASE_URL_ENV: Final = "MANTLE_BASE_URL"

# Every fine-tuning and Files example in AWS's user guide and RFT notebooks uses /v1; the SDK
# provider's own default, /openai/v1, is the prefix of other model families, and a wrong prefix
# is rejected (sometimes as a misleading 401).
MANTLE_API_PATH: Final = "/v1"


def default_mantle_base_url(region: str) -> str:
    return f"https://bedrock-mantle.{region}.api.aws{MANTLE_API_PATH}"


# --- statuses this app writes, beside the ones the APIs report -------------------------------

NOT_FOUND_STATUS: Final = "NotFound"  # the service no longer knows the job
TRACKER_GAVE_UP: Final = "TrackerGaveUp"  # tracking stopped before the job ended
TRACKER_FAILED: Final = "TrackerFailed"  # the state machine's error when the tracker Lambda kept failing
STOP_FAILED: Final = "StopFailed"  # a job nobody wants still runs and its tracker could not stop it

class NotificationAttribute:
    """SNS message attributes of the tracker's notifications (subscription filter policies use them)."""

    STATUS: Final = "status"
    VARIANT: Final = "variant"


# --- the job's SSM parameters ---------------------------------------------------------------


class JobParameter:
    """Leaf names under `<parameter prefix>/job/` of the parameters the tracker keeps current."""

    STATUS: Final = "status"
    MODEL: Final = "model"
    FAILURE: Final = "failure-message"
    JOB_ID: Final = "id"
    DEPLOYMENT: Final = "deployment-arn"


# Values of the live parameters before the tracker first writes them (an SSM String parameter
# cannot be empty). The stack creates them; operator tools read them as "unset".
PARAMETER_NOT_STARTED: Final = "NOT_STARTED"
PARAMETER_NONE: Final = "NONE"
UNSET_PARAMETER_VALUES: Final = frozenset({"", PARAMETER_NONE, PARAMETER_NOT_STARTED})

# --- what the stack publishes (CloudFormation output keys; each also an SSM parameter) ------


class Output:
    """Stack output keys: exported as `<StackName>-<key>`, and rftctl's way into a stack."""

    RFT_VARIANT: Final = "RftVariant"
    BASE_MODEL: Final = "BaseModel"
    TRAINING_BUCKET_NAME: Final = "TrainingBucketName"
    TRAINING_DATA_URI: Final = "TrainingDataUri"
    VALIDATION_DATA_URI: Final = "ValidationDataUri"
    OUTPUT_DATA_URI: Final = "OutputDataUri"
    JOB_LEDGER_URI: Final = "JobLedgerUri"
    MANTLE_BASE_URL: Final = "MantleBaseUrl"
    GRADER_FUNCTION_ARN: Final = "GraderFunctionArn"
    GRADER_VERSION_ARN: Final = "GraderVersionArn"
    GRADER_TASK: Final = "GraderTask"
    BEDROCK_SERVICE_ROLE_ARN: Final = "BedrockServiceRoleArn"
    NOTIFICATION_TOPIC_ARN: Final = "NotificationTopicArn"
    JOB_STATUS_PARAMETER_NAME: Final = "JobStatusParameterName"
    JOB_MODEL_PARAMETER_NAME: Final = "JobModelParameterName"
    JOB_FAILURE_PARAMETER_NAME: Final = "JobFailureParameterName"
    JOB_ID_PARAMETER_NAME: Final = "JobIdParameterName"
    MODEL_DEPLOYMENT_PARAMETER_NAME: Final = "ModelDeploymentParameterName"
    TRACKER_STATE_MACHINE_ARN: Final = "TrackerStateMachineArn"
    JOB_ID: Final = "JobId"
    JOB_NAME: Final = "JobName"
    CUSTOM_MODEL_NAME: Final = "CustomModelName"
    JOB_CONSOLE_URL: Final = "JobConsoleUrl"
    DASHBOARD_NAME: Final = "DashboardName"
    DASHBOARD_URL: Final = "DashboardUrl"


# --- stack tags (rftctl finds an app's stacks, and a variant's, by them) ---------------------

APP_TAG: Final = "rft:app"
VARIANT_TAG: Final = "rft:variant"
STACK_TAG: Final = "rft:stack"  # on the job and its model: which stack launched it
RESERVED_TAG_KEYS: Final = (APP_TAG, VARIANT_TAG, STACK_TAG)
