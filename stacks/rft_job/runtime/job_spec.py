"""The job specification the stack passes to the launcher, and everything derived from it.

The launcher gets the spec as a JSON string in the custom resource's ``JobSpec`` property
(CloudFormation turns every scalar property into a string, so the stack serialises the whole
spec). This module parses and validates it, computes the fingerprint that decides whether an
update needs a new job, and derives the deterministic names and tokens that make retries
idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote

NOVA = "nova"
MANTLE = "mantle"
VARIANTS = (NOVA, MANTLE)

# Every fine-tuning and Files example in AWS's user guide and RFT notebooks uses /v1; the SDK
# provider's own default, /openai/v1, is the prefix of other model families, and a wrong prefix
# is rejected (sometimes as a misleading 401).
MANTLE_API_PATH = "/v1"


def default_mantle_base_url(region: str) -> str:
    return f"https://bedrock-mantle.{region}.api.aws{MANTLE_API_PATH}"

# Values of the stack's live SSM parameters before the tracker first writes them (an SSM
# String parameter cannot be empty). The stack creates them; operator tools read them as "unset".
PARAMETER_NOT_STARTED = "NOT_STARTED"
PARAMETER_NONE = "NONE"
UNSET_PARAMETER_VALUES = frozenset({"", PARAMETER_NONE, PARAMETER_NOT_STARTED})


def deployment_description(job_name: str) -> str:
    """One description for the on-demand deployment, whoever creates it (tracker or operator):
    the create call is idempotent only when every parameter matches."""
    return f"On-demand inference for the model trained by RFT job {job_name}"

NAME_PREFIX_MAX = 32
# Lowercase words joined by single hyphens: every name built from it then satisfies both
# Nova patterns (jobName and the stricter customModelName, which forbids "--").
_NAME_PREFIX = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_BASE64_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$")
_S3_PREFIX_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$")
# A published version: the qualifier is a number. $LATEST, aliases and unqualified ARNs would
# let the grader change under a running job.
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:[a-zA-Z0-9_-]{1,64}:(\d+)$"
)
# The unqualified function ARN (the job calls $LATEST): every AWS mantle example passes this form.
_LAMBDA_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:[a-zA-Z0-9_-]{1,64}$"
)
_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")
_NOVA_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")

# Nova RFT hyperparameters (botocore RFTHyperParameters): name -> (kind, min, max or choices).
NOVA_HYPERPARAMETERS: dict[str, tuple[str, Any, Any]] = {
    "epochCount": ("int", 1, 50),
    "batchSize": ("int", 16, 512),
    "learningRate": ("float", 1e-7, 1e-3),
    "maxPromptLength": ("int", 1, None),
    "trainingSamplePerPrompt": ("int", 2, 16),
    "inferenceMaxTokens": ("int", 1, None),
    "reasoningEffort": ("choice", ("low", "medium", "high"), None),
    "evalInterval": ("int", 1, 100),
}
# Mantle names the service documents; others pass through unchanged (the service decides).
MANTLE_KNOWN_HYPERPARAMETERS: dict[str, tuple[str, Any, Any]] = {
    "n_epochs": ("int", 1, None),
    "batch_size": ("int", 1, None),
    "learning_rate_multiplier": ("float", 0.0, None),
}

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

MANTLE_CUSTOM_MODEL_NAME = (
    "assigned by the service when the job succeeds: see the model SSM parameter (fine_tuned_model)"
)


class JobSpecError(ValueError):
    """The JobSpec property is invalid; the message names the field and what to fix."""


@dataclass(frozen=True)
class JobSpec:
    variant: str
    name_prefix: str
    base_model: str
    training_data_uri: str
    validation_data_uri: str | None
    training_sha256: str
    validation_sha256: str | None
    grader_arn: str
    grader_code_sha256: str
    hyper_parameters: dict[str, Any]
    tags: dict[str, str]
    state_machine_arn: str
    role_arn: str | None = None
    output_data_uri: str | None = None
    # False: the job gets the unqualified function ARN (mantle only; see rft:mantle.pinGraderVersion).
    grader_pinned: bool = True
    # False: the mantle job is created without `metadata` (rft:mantle.sendMetadata).
    send_metadata: bool = True
    # s3://bucket/prefix/ of the job ledger (see ledger.py); None in a spec from before it.
    ledger_uri: str | None = None
    ignored_fields: tuple[str, ...] = field(default=())

    @property
    def has_validation(self) -> bool:
        return self.validation_data_uri is not None


def parse_job_spec(raw: str | Mapping[str, Any] | None) -> JobSpec:
    """Parse and validate the JobSpec property; raise JobSpecError naming the bad field."""
    data = _load_json_object(raw)

    variant = _required_str(data, "variant")
    if variant not in VARIANTS:
        raise JobSpecError(f"JobSpec.variant must be one of {', '.join(VARIANTS)} (got {variant!r})")

    name_prefix = _required_str(data, "namePrefix")
    if len(name_prefix) > NAME_PREFIX_MAX or not _NAME_PREFIX.match(name_prefix):
        raise JobSpecError(
            f"JobSpec.namePrefix must be 1-{NAME_PREFIX_MAX} lowercase letters and digits, words joined by "
            f"single hyphens, e.g. 'bedrock-rft-nova2lite' (got {name_prefix!r})"
        )

    base_model = _required_str(data, "baseModel")
    if len(base_model) > 2048 or any(ch.isspace() for ch in base_model):
        raise JobSpecError(f"JobSpec.baseModel must be a model id without spaces (got {base_model!r})")

    training_data_uri = _s3_object_uri(data, "trainingDataUri", required=True)
    validation_data_uri = _s3_object_uri(data, "validationDataUri", required=False)

    dataset = data.get("datasetSha256")
    if not isinstance(dataset, Mapping):
        raise JobSpecError('JobSpec.datasetSha256 must be an object {"training": <hex>, "validation": <hex>|null}')
    training_sha256 = _sha256_hex(dataset.get("training"), "datasetSha256.training")
    validation_value = dataset.get("validation")
    validation_sha256 = None if validation_value is None else _sha256_hex(validation_value, "datasetSha256.validation")
    if (validation_data_uri is None) != (validation_sha256 is None):
        raise JobSpecError(
            "JobSpec.datasetSha256.validation must be set exactly when JobSpec.validationDataUri is set "
            f"(validationDataUri={validation_data_uri!r}, datasetSha256.validation={validation_sha256!r})"
        )

    grader_pinned = _optional_bool(data, "graderPinned", True)
    send_metadata = _optional_bool(data, "sendMetadata", True)
    if variant == NOVA and not grader_pinned:
        raise JobSpecError("JobSpec.graderPinned must be true for variant nova: a Nova job always calls a "
                           "published grader version")
    grader_arn = _required_str(data, "graderArn")
    if grader_pinned and not _LAMBDA_VERSION_ARN.match(grader_arn):
        raise JobSpecError(
            "JobSpec.graderArn must be a published Lambda version ARN ending in ':<version number>' "
            f"($LATEST, aliases and unqualified ARNs are rejected so the grader cannot change under a "
            f"running job) (got {grader_arn!r})"
        )
    if not grader_pinned and not _LAMBDA_FUNCTION_ARN.match(grader_arn):
        raise JobSpecError(
            "JobSpec.graderArn must be an unqualified Lambda function ARN when JobSpec.graderPinned is false "
            f"(got {grader_arn!r})"
        )
    grader_code_sha256 = _required_str(data, "graderCodeSha256")
    if _HEX64.match(grader_code_sha256):
        grader_code_sha256 = grader_code_sha256.lower()
    elif not _BASE64_SHA256.match(grader_code_sha256):
        raise JobSpecError(
            f"JobSpec.graderCodeSha256 must be a SHA-256 of the grader code, hex or base64 (got {grader_code_sha256!r})"
        )

    hyper_parameters = _hyper_parameters(variant, data.get("hyperParameters"))
    tags = _tags(variant, data.get("tags"))

    state_machine_arn = _required_str(data, "stateMachineArn")
    if not _STATE_MACHINE_ARN.match(state_machine_arn):
        raise JobSpecError(f"JobSpec.stateMachineArn must be a Step Functions state machine ARN (got {state_machine_arn!r})")

    role_arn: str | None = None
    output_data_uri: str | None = None
    if variant == NOVA:
        role_arn = _required_str(data, "roleArn")
        if not _ROLE_ARN.match(role_arn):
            raise JobSpecError(f"JobSpec.roleArn must be an IAM role ARN (required for variant nova) (got {role_arn!r})")
        output_data_uri = _required_str(data, "outputDataUri")
        if not _S3_PREFIX_URI.match(output_data_uri):
            raise JobSpecError(
                f"JobSpec.outputDataUri must be an s3://bucket/prefix/ URI (required for variant nova) (got {output_data_uri!r})"
            )

    ledger_uri = data.get("ledgerUri")
    if ledger_uri is not None and (not isinstance(ledger_uri, str) or not _S3_PREFIX_URI.match(ledger_uri)
                                   or not ledger_uri.endswith("/")):
        raise JobSpecError(f"JobSpec.ledgerUri must be an s3://bucket/prefix/ URI (got {ledger_uri!r})")

    known = set(_KNOWN_FIELDS) | ({"roleArn", "outputDataUri"} if variant == NOVA else set())
    ignored = tuple(sorted(key for key in data if key not in known))

    return JobSpec(
        variant=variant,
        name_prefix=name_prefix,
        base_model=base_model,
        training_data_uri=training_data_uri,
        validation_data_uri=validation_data_uri,
        training_sha256=training_sha256,
        validation_sha256=validation_sha256,
        grader_arn=grader_arn,
        grader_code_sha256=grader_code_sha256,
        hyper_parameters=hyper_parameters,
        tags=tags,
        state_machine_arn=state_machine_arn,
        role_arn=role_arn,
        output_data_uri=output_data_uri,
        grader_pinned=grader_pinned,
        send_metadata=send_metadata,
        ledger_uri=ledger_uri,
        ignored_fields=ignored,
    )


_KNOWN_FIELDS = (
    "variant",
    "namePrefix",
    "baseModel",
    "trainingDataUri",
    "validationDataUri",
    "datasetSha256",
    "graderArn",
    "graderCodeSha256",
    "hyperParameters",
    "tags",
    "stateMachineArn",
    "graderPinned",
    "sendMetadata",
    "ledgerUri",
)


def fingerprint(spec: JobSpec) -> str:
    """SHA-256 over the fields that define what the job trains (see job_fingerprint)."""
    return job_fingerprint(
        variant=spec.variant,
        base_model=spec.base_model,
        training_sha256=spec.training_sha256,
        validation_sha256=spec.validation_sha256,
        grader_code_sha256=spec.grader_code_sha256,
        hyper_parameters=spec.hyper_parameters,
        grader_pinned=spec.grader_pinned,
    )


def job_fingerprint(
    *,
    variant: str,
    base_model: str,
    training_sha256: str,
    validation_sha256: str | None,
    grader_code_sha256: str,
    hyper_parameters: Mapping[str, Any],
    grader_pinned: bool = True,
) -> str:
    """SHA-256 over the fields that define what the job trains.

    The stack computes it at synth (the job resource's JobFingerprint property, which `cdk diff`
    shows) and the launcher recomputes it from the JobSpec; both normalise the hyperparameters
    the same way, so "10", 10 and 10.0 are one value (a number's JSON spelling may change on
    its way through the template). Whether the grader is pinned to a version is in it: a job
    keeps its grader grants only as long as it is the stack's job. Where the data lives (URIs),
    which published grader version runs the same code, the service role, the output prefix,
    tags and the tracker are deliberately left out: changing them must not retrain.
    """
    job_defining = {
        "variant": variant,
        "baseModel": base_model,
        "datasetSha256": {"training": training_sha256.lower(),
                          "validation": validation_sha256.lower() if validation_sha256 else None},
        "hasValidation": validation_sha256 is not None,
        "graderCodeSha256": grader_code_sha256,
        "graderPinned": grader_pinned,
        "hyperParameters": {name: _whole_numbers_as_int(value)
                            for name, value in _hyper_parameters(variant, dict(hyper_parameters)).items()},
    }
    return hashlib.sha256(canonical_json(job_defining).encode("utf-8")).hexdigest()


def _whole_numbers_as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def fingerprint_of_raw(raw: str | Mapping[str, Any] | None) -> str | None:
    """Fingerprint of a possibly invalid spec (e.g. OldResourceProperties); None if it does not parse."""
    try:
        return fingerprint(parse_job_spec(raw))
    except JobSpecError:
        return None


def variant_of_raw(raw: str | Mapping[str, Any] | None) -> str | None:
    """The variant named in a spec, without validating the rest (used by Delete)."""
    try:
        data = _load_json_object(raw)
    except JobSpecError:
        return None
    variant = data.get("variant")
    return variant if variant in VARIANTS else None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_token(stack_id: str, logical_resource_id: str, request_id: str, job_fingerprint: str) -> str:
    """Idempotency token for one launch: the same CloudFormation request always yields the same token.

    64 hex characters, valid for Nova's clientRequestToken ([a-zA-Z0-9-], <= 256) and for a
    mantle metadata value.
    """
    return sha256_hex("|".join((stack_id, logical_resource_id, request_id, job_fingerprint)))


@dataclass(frozen=True)
class LaunchNames:
    job_name: str
    custom_model_name: str


def launch_names(name_prefix: str, job_fingerprint: str, token: str) -> LaunchNames:
    """Deterministic, per-launch unique names: <prefix>-<fingerprint[:8]>-<token[:8]> (<= 50 chars).

    The fingerprint part makes the job's definition visible in its name (and lets an update
    recognise the job it is looking at); the token part makes each launch unique, as Nova
    requires for both job and model names.
    """
    name = f"{name_prefix}-{job_fingerprint[:8]}-{token[:8]}"
    return LaunchNames(job_name=name, custom_model_name=name)


def fingerprint_prefix_from_job_name(job_name: str) -> str | None:
    """The 8-character fingerprint part of a name built by launch_names, or None."""
    parts = job_name.rsplit("-", 2)
    if len(parts) != 3:
        return None
    candidate = parts[1]
    return candidate if re.fullmatch(r"[0-9a-f]{8}", candidate) else None


_EXECUTION_NAME_MAX = 80


def tracker_execution_name(job_name: str, job_id: str) -> str:
    """Step Functions execution name, unique per job: [A-Za-z0-9-_], <= 80 chars."""
    suffix = sha256_hex(job_id)[:12]
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", job_name).strip("-_") or "rft-job"
    return f"{base[: _EXECUTION_NAME_MAX - len(suffix) - 1]}-{suffix}"


_DEPLOYMENT_NAME_MAX = 63


def deployment_name(job_name: str, job_id: str) -> str:
    """Nova custom model deployment name: ([0-9a-zA-Z][_-]?){1,63}, unique per job."""
    suffix = sha256_hex(job_id)[:8]
    base = re.sub(r"[^0-9a-zA-Z]+", "-", job_name).strip("-") or "rft"
    base = base[: _DEPLOYMENT_NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}"


def deployment_request_token(job_id: str) -> str:
    return sha256_hex(f"deployment|{job_id}")


def console_url(region: str) -> str:
    """The Bedrock console's custom models page (its Jobs tab lists training jobs by name).

    AWS documents no stable deep link to a single customization job, so the list page is the
    link that keeps working; the job is found there by its JobName.
    """
    return f"https://{region}.console.aws.amazon.com/bedrock/home?region={quote(region)}#/custom-models"


_NOVA_JOB_ARN = re.compile(
    r"^arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:\d{12}:model-customization-job/"
    r"[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}(?:[a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}(?::[a-z0-9-]{1,63}){0,2}/[a-z0-9]{12}$"
)
# Mantle (OpenAI-style) job ids look like "ftjob-abc123", but Bedrock documents no format. The
# check only keeps out what is certainly not a job id (the Provider framework's placeholder after
# a failed Create, the stack's unset-parameter values, blanks); a stricter guess would make an
# Update relaunch and a Delete skip the cancel for every real id that falls outside it. The SDK
# percent-encodes the id into the URL path and refuses dot segments.
_MANTLE_JOB_ID = re.compile(r"^[A-Za-z0-9][\x21-\x7e]{2,255}$")
_CDK_PLACEHOLDER_PREFIX = "AWSCDK::"


def is_nova_job_arn(value: str | None) -> bool:
    return bool(value) and bool(_NOVA_JOB_ARN.match(value or ""))


def is_mantle_job_id(value: str | None) -> bool:
    return (
        bool(value)
        and bool(_MANTLE_JOB_ID.match(value or ""))
        and not (value or "").startswith(_CDK_PLACEHOLDER_PREFIX)
        and value not in UNSET_PARAMETER_VALUES
        and not is_nova_job_arn(value)
    )


def is_job_id(variant: str, value: str | None) -> bool:
    return is_nova_job_arn(value) if variant == NOVA else is_mantle_job_id(value)


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.match(uri)
    if not match:
        raise JobSpecError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group(1), match.group(2)


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


# --- field helpers -----------------------------------------------------------------------


def _load_json_object(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if raw is None:
        raise JobSpecError("ResourceProperties.JobSpec is missing: the stack must pass the job spec as a JSON string")
    if isinstance(raw, Mapping):
        return dict(raw)
    if not isinstance(raw, str):
        raise JobSpecError(f"ResourceProperties.JobSpec must be a JSON string (got {type(raw).__name__})")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JobSpecError(f"ResourceProperties.JobSpec is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise JobSpecError("ResourceProperties.JobSpec must be a JSON object")
    return data


def _required_str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise JobSpecError(f"JobSpec.{name} is required and must be a non-empty string (got {value!r})")
    return value.strip()


def _optional_bool(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise JobSpecError(f"JobSpec.{name} must be true or false (got {value!r})")
    return value


def _s3_object_uri(data: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _S3_URI.match(value) or value.endswith("/"):
        raise JobSpecError(f"JobSpec.{name} must be an s3://bucket/key URI of a JSONL object (got {value!r})")
    return value


def _sha256_hex(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise JobSpecError(f"JobSpec.{name} must be a 64-character hex SHA-256 (got {value!r})")
    return value.lower()


def _number(value: Any, name: str, kind: str) -> int | float:
    # CloudFormation or a hand-written spec may carry numbers as strings; accept clean ones so
    # "10" and 10 fingerprint the same.
    if isinstance(value, bool):
        raise JobSpecError(f"JobSpec.hyperParameters.{name} must be a number (got {value!r})")
    if isinstance(value, str):
        try:
            value = int(value) if kind == "int" else float(value)
        except ValueError as exc:
            raise JobSpecError(f"JobSpec.hyperParameters.{name} must be a number (got {value!r})") from exc
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise JobSpecError(f"JobSpec.hyperParameters.{name} must be an integer (got {value!r})")
        return value
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise JobSpecError(f"JobSpec.hyperParameters.{name} must be a finite number (got {value!r})")
    return float(value)


def _checked(name: str, value: Any, rule: tuple[str, Any, Any]) -> Any:
    kind, low, high = rule
    if kind == "choice":
        if value not in low:
            raise JobSpecError(f"JobSpec.hyperParameters.{name} must be one of {', '.join(low)} (got {value!r})")
        return value
    number = _number(value, name, kind)
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise JobSpecError(f"JobSpec.hyperParameters.{name} must be {bounds} (got {number!r})")
    return number


def _hyper_parameters(variant: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobSpecError(f"JobSpec.hyperParameters must be an object (got {type(value).__name__})")
    result: dict[str, Any] = {}
    if variant == NOVA:
        for name, raw in value.items():
            rule = NOVA_HYPERPARAMETERS.get(name)
            if rule is None:
                raise JobSpecError(
                    f"JobSpec.hyperParameters.{name} is not a Nova RFT hyperparameter; use "
                    f"{', '.join(NOVA_HYPERPARAMETERS)}"
                )
            result[name] = _checked(name, raw, rule)
        return result
    for name, raw in value.items():
        if not isinstance(name, str) or not name:
            raise JobSpecError("JobSpec.hyperParameters keys must be non-empty strings")
        rule = MANTLE_KNOWN_HYPERPARAMETERS.get(name)
        if rule is not None:
            result[name] = _checked(name, raw, rule)
        elif isinstance(raw, (str, int, float, bool)) and not (isinstance(raw, float) and not math.isfinite(raw)):
            result[name] = raw
        else:
            raise JobSpecError(f"JobSpec.hyperParameters.{name} must be a string, number or boolean (got {raw!r})")
    return result


def _tags(variant: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobSpecError(f"JobSpec.tags must be an object of string keys and values (got {type(value).__name__})")
    tags: dict[str, str] = {}
    for key, tag_value in value.items():
        if not isinstance(key, str) or not isinstance(tag_value, str):
            raise JobSpecError(f"JobSpec.tags.{key} must be a string (got {tag_value!r})")
        if variant == NOVA and not (
            1 <= len(key) <= 128
            and len(tag_value) <= 256
            and _NOVA_TAG_TEXT.match(key)
            and _NOVA_TAG_TEXT.match(tag_value)
        ):
            raise JobSpecError(
                f"JobSpec.tags.{key} is not a valid Bedrock tag: keys 1-128 and values 0-256 characters of "
                "letters, digits, spaces and . _ : / = + @ -"
            )
        tags[key] = tag_value
    if variant == NOVA and len(tags) > 200:
        raise JobSpecError(f"JobSpec.tags has {len(tags)} entries; Bedrock accepts at most 200")
    return tags
