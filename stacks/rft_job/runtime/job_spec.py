"""The job specification the stack passes to the launcher: parsing, validation and the fingerprint.

The launcher gets the spec as a JSON string in the custom resource's ``JobSpec`` property
(CloudFormation turns every scalar property into a string, so the stack serialises the whole
spec). This module parses it and computes the fingerprint that decides whether an update needs
a new job. The spec was validated when the stack was synthesized (stacks/config.py holds every
rule for hyperparameters and tags, once): here it is checked for shape, so that a hand-edited
template fails with the field's name instead of sending a paid job something unintended. The
names, tokens and ids derived from a spec are in naming.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .contract import VARIANTS, Variant

NAME_PREFIX_MAX = 32
# Lowercase words joined by single hyphens: every name built from it then satisfies both
# ASCII and anchored at the very end (\Z): "\d" alone takes full-width digits and "$" a trailing newline.
# Nova patterns (jobName and the stricter customModelName, which forbids "--").
_NAME_PREFIX = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*\Z", re.ASCII)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}\Z", re.ASCII)
_BASE64_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=\Z", re.ASCII)
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)\Z", re.ASCII)
_S3_PREFIX_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?\Z", re.ASCII)
# A published version: the qualifier is a number. $LATEST, aliases and unqualified ARNs would
# let the grader change under a running job.
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:[a-zA-Z0-9_-]{1,64}:(\d+)\Z", re.ASCII
)
# The unqualified function ARN (the job calls $LATEST): every AWS mantle example passes this form.
_LAMBDA_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:[a-zA-Z0-9_-]{1,64}\Z", re.ASCII
)
_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z", re.ASCII)
_STATE_MACHINE_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}\Z", re.ASCII
)


class SpecKey:
    """The JobSpec document's keys: the construct writes them, parse_job_spec reads them."""

    VARIANT: Final = "variant"
    NAME_PREFIX: Final = "namePrefix"
    BASE_MODEL: Final = "baseModel"
    TRAINING_DATA_URI: Final = "trainingDataUri"
    VALIDATION_DATA_URI: Final = "validationDataUri"
    DATASET_SHA256: Final = "datasetSha256"
    GRADER_ARN: Final = "graderArn"
    GRADER_CODE_SHA256: Final = "graderCodeSha256"
    GRADER_TASK: Final = "graderTask"
    HYPER_PARAMETERS: Final = "hyperParameters"
    TAGS: Final = "tags"
    STATE_MACHINE_ARN: Final = "stateMachineArn"
    GRADER_PINNED: Final = "graderPinned"
    SEND_METADATA: Final = "sendMetadata"
    LEDGER_URI: Final = "ledgerUri"
    ROLE_ARN: Final = "roleArn"
    OUTPUT_DATA_URI: Final = "outputDataUri"


class JobSpecError(ValueError):
    """The JobSpec property is invalid; the message names the field and what to fix."""


@dataclass(frozen=True)
class JobSpec:
    variant: Variant
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
    # What the API needs beyond the common fields (Nova: the service role and the output prefix);
    # its adapter's check_spec says which are required.
    role_arn: str | None = None
    output_data_uri: str | None = None
    # False: the job gets the unqualified function ARN (mantle only; see rft:mantle.pinGraderVersion).
    grader_pinned: bool = True
    # False: the mantle job is created without `metadata` (rft:mantle.sendMetadata).
    send_metadata: bool = True
    # s3://bucket/prefix/ of the job ledger (see ledger.py); None in a spec from before it.
    ledger_uri: str | None = None
    # The grader's task and options ({"name": ..., <options>}); None in a spec from before tasks.
    grader_task: dict[str, Any] | None = None
    ignored_fields: tuple[str, ...] = field(default=())



def parse_job_spec(raw: str | Mapping[str, Any] | None) -> JobSpec:
    """Parse and validate the JobSpec property; raise JobSpecError naming the bad field."""
    data = _load_json_object(raw)

    variant_name = _required_str(data, SpecKey.VARIANT)
    if variant_name not in VARIANTS:
        raise JobSpecError(f"JobSpec.variant must be one of {', '.join(VARIANTS)} (got {variant_name!r})")
    variant = Variant(variant_name)

    name_prefix = _required_str(data, SpecKey.NAME_PREFIX)
    if len(name_prefix) > NAME_PREFIX_MAX or not _NAME_PREFIX.match(name_prefix):
        raise JobSpecError(
            f"JobSpec.namePrefix must be 1-{NAME_PREFIX_MAX} lowercase letters and digits, words joined by "
            f"single hyphens, e.g. 'bedrock-rft-nova2lite' (got {name_prefix!r})"
        )

    base_model = _required_str(data, SpecKey.BASE_MODEL)
    if len(base_model) > 2048 or any(ch.isspace() for ch in base_model):
        raise JobSpecError(f"JobSpec.baseModel must be a model id without spaces (got {base_model!r})")

    training_data_uri = _required_s3_object_uri(data, SpecKey.TRAINING_DATA_URI)
    validation_data_uri = _s3_object_uri(data, SpecKey.VALIDATION_DATA_URI, required=False)

    dataset = data.get(SpecKey.DATASET_SHA256)
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

    grader_pinned = _optional_bool(data, SpecKey.GRADER_PINNED, True)
    send_metadata = _optional_bool(data, SpecKey.SEND_METADATA, True)
    grader_arn = _required_str(data, SpecKey.GRADER_ARN)
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
    grader_code_sha256 = _required_str(data, SpecKey.GRADER_CODE_SHA256)
    if _HEX64.match(grader_code_sha256):
        grader_code_sha256 = grader_code_sha256.lower()
    elif not _BASE64_SHA256.match(grader_code_sha256):
        raise JobSpecError(
            f"JobSpec.graderCodeSha256 must be a SHA-256 of the grader code, hex or base64 (got {grader_code_sha256!r})"
        )

    grader_task = data.get(SpecKey.GRADER_TASK)
    if grader_task is not None and (
        not isinstance(grader_task, Mapping) or not isinstance(grader_task.get("name"), str)
    ):
        raise JobSpecError(f'JobSpec.graderTask must be an object {{"name": <task>, <options>}} (got {grader_task!r})')
    hyper_parameters = _hyper_parameters(data.get(SpecKey.HYPER_PARAMETERS))
    tags = _tags(data.get(SpecKey.TAGS))

    state_machine_arn = _required_str(data, SpecKey.STATE_MACHINE_ARN)
    if not _STATE_MACHINE_ARN.match(state_machine_arn):
        raise JobSpecError(
            f"JobSpec.stateMachineArn must be a Step Functions state machine ARN (got {state_machine_arn!r})")

    # What the API needs beyond the common fields (Nova: the service role and the output prefix);
    # its adapter's check_spec says which are required.
    role_arn = _optional_str(data, SpecKey.ROLE_ARN)
    if role_arn is not None and not _ROLE_ARN.match(role_arn):
        raise JobSpecError(f"JobSpec.roleArn must be an IAM role ARN (got {role_arn!r})")
    output_data_uri = _optional_str(data, SpecKey.OUTPUT_DATA_URI)
    if output_data_uri is not None and not _S3_PREFIX_URI.match(output_data_uri):
        raise JobSpecError(f"JobSpec.outputDataUri must be an s3://bucket/prefix/ URI (got {output_data_uri!r})")

    ledger_uri = data.get(SpecKey.LEDGER_URI)
    if ledger_uri is not None and (
        not isinstance(ledger_uri, str) or not _S3_PREFIX_URI.match(ledger_uri) or not ledger_uri.endswith("/")
    ):
        raise JobSpecError(f"JobSpec.ledgerUri must be an s3://bucket/prefix/ URI (got {ledger_uri!r})")

    ignored = tuple(sorted(key for key in data if key not in _KNOWN_FIELDS))

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
        grader_task=dict(grader_task) if grader_task is not None else None,
        ignored_fields=ignored,
    )


_KNOWN_FIELDS = tuple(value for name, value in vars(SpecKey).items() if name.isupper())


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
        grader_task=spec.grader_task,
    )


def fingerprint_of_document(data: Mapping[str, Any]) -> str:
    """The fingerprint of a JobSpec document as written (the construct's dict, a template's JSON), without
    validating the fields that do not define the job (they may be deploy-time references).

    The one reading of a document's job-defining fields: the construct, ``rftctl plan`` and (through
    ``parse_job_spec``) the launcher agree by construction. Raises KeyError, TypeError or ValueError
    when a job-defining field is missing or of the wrong shape.
    """
    datasets = data[SpecKey.DATASET_SHA256]
    grader_code = data[SpecKey.GRADER_CODE_SHA256]
    task = data.get(SpecKey.GRADER_TASK)
    if task is not None and not isinstance(task, Mapping):
        raise TypeError(f"graderTask is {type(task).__name__}, expected an object")
    return job_fingerprint(
        variant=data[SpecKey.VARIANT],
        base_model=data[SpecKey.BASE_MODEL],
        training_sha256=datasets["training"],
        validation_sha256=datasets.get("validation"),
        grader_code_sha256=grader_code.lower() if _HEX64.match(grader_code) else grader_code,
        hyper_parameters=data.get(SpecKey.HYPER_PARAMETERS) or {},
        grader_pinned=data.get(SpecKey.GRADER_PINNED, True),
        grader_task=task,
    )


def job_fingerprint(
    *,
    variant: str | Variant,
    base_model: str,
    training_sha256: str,
    validation_sha256: str | None,
    grader_code_sha256: str,
    hyper_parameters: Mapping[str, Any],
    grader_pinned: bool = True,
    grader_task: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 over the fields that define what the job trains.

    The stack computes it at synth (the job resource's JobFingerprint property, which `cdk diff`
    shows) and the launcher recomputes it from the JobSpec; both normalise the hyperparameters
    the same way, so 10 and 10.0 are one value (a number's JSON spelling may change on
    its way through the template). Whether the grader is pinned to a version is in it: a job
    keeps its grader grants only as long as it is the stack's job. So are the grader's task and its
    options (a spec from before tasks has none, and keeps its fingerprint). Where the data lives (URIs),
    which published grader version runs the same code, the service role, the output prefix,
    tags and the tracker are deliberately left out: changing them must not retrain.
    """
    job_defining = {
        "variant": str(variant),
        "baseModel": base_model,
        "datasetSha256": {
            "training": training_sha256.lower(),
            "validation": validation_sha256.lower() if validation_sha256 else None,
        },
        "hasValidation": validation_sha256 is not None,
        "graderCodeSha256": grader_code_sha256,
        "graderPinned": grader_pinned,
        "hyperParameters": {
            name: _whole_numbers_as_int(value) for name, value in _hyper_parameters(dict(hyper_parameters)).items()
        },
    }
    if grader_task is not None:
        # Nulls are left out: the template's JSON drops them (CDK serialises None as absent), so a
        # task option whose default is null must fingerprint the same on both sides.
        job_defining["graderTask"] = _whole_numbers_as_int_deep(_without_nulls(dict(grader_task)))
    return hashlib.sha256(canonical_json(job_defining).encode("utf-8")).hexdigest()


def _whole_numbers_as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _whole_numbers_as_int_deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _whole_numbers_as_int_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int_deep(item) for item in value]
    return _whole_numbers_as_int(value)


def fingerprint_of_raw(raw: str | Mapping[str, Any] | None) -> str | None:
    """Fingerprint of a possibly invalid spec (e.g. OldResourceProperties); None if it does not parse."""
    try:
        return fingerprint(parse_job_spec(raw))
    except JobSpecError:
        return None


def _field_of_raw(raw: str | Mapping[str, Any] | None, key: str) -> Any:
    """One field of a spec that may not validate (what Delete reads): None when it is not a JSON object."""
    try:
        return _load_json_object(raw).get(key)
    except JobSpecError:
        return None


def variant_of_raw(raw: str | Mapping[str, Any] | None) -> Variant | None:
    """The variant named in a spec, without validating the rest (used by Delete)."""
    variant = _field_of_raw(raw, SpecKey.VARIANT)
    return Variant(variant) if variant in VARIANTS else None


def ledger_uri_of_raw(raw: str | Mapping[str, Any] | None) -> str | None:
    """The job ledger's URI named in a spec, without validating the rest (used by Delete)."""
    uri = _field_of_raw(raw, SpecKey.LEDGER_URI)
    return uri if isinstance(uri, str) and _S3_URI.match(uri) else None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.match(uri)
    if not match:
        raise JobSpecError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group(1), match.group(2)


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


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    if data.get(name) is None:
        return None
    return _required_str(data, name)


def _optional_bool(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise JobSpecError(f"JobSpec.{name} must be true or false (got {value!r})")
    return value


def _required_s3_object_uri(data: Mapping[str, Any], name: str) -> str:
    uri = _s3_object_uri(data, name, required=True)
    assert uri is not None
    return uri


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


def _hyper_parameters(value: Any) -> dict[str, Any]:
    """Names to scalar values, as the config validated them (its tables are the rules)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobSpecError(f"JobSpec.hyperParameters must be an object (got {type(value).__name__})")
    result: dict[str, Any] = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not name:
            raise JobSpecError("JobSpec.hyperParameters keys must be non-empty strings")
        finite = not (isinstance(raw, float) and not math.isfinite(raw))
        if not isinstance(raw, (str, int, float, bool)) or not finite:
            raise JobSpecError(f"JobSpec.hyperParameters.{name} must be a string, number or boolean (got {raw!r})")
        result[name] = raw
    return result


def _tags(value: Any) -> dict[str, str]:
    """String keys to string values, as the config validated them."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobSpecError(f"JobSpec.tags must be an object of string keys and values (got {type(value).__name__})")
    tags: dict[str, str] = {}
    for key, tag_value in value.items():
        if not isinstance(key, str) or not key or not isinstance(tag_value, str):
            raise JobSpecError(f"JobSpec.tags.{key} must be a string (got {tag_value!r})")
        tags[key] = tag_value
    return tags
