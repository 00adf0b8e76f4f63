"""Custom resource handler that starts, keeps and stops one Bedrock RFT job.

CDK Provider framework `on_event` handler: stacks.rft_job.runtime.launcher.on_event. Create starts
the job and its tracker execution and returns at once (a job runs for hours; a custom resource
may take one). Update starts a new job only when a job-defining field changed. Delete stops
the job if it still runs; when the whole stack goes (a stack delete, or the rollback of its first
create) the tracker goes with it, so Delete itself records the outcome in the job ledger and
tells the stack's topic. Failures raise LaunchFailure, whose message is the short reason
CloudFormation shows; the full detail goes to the log.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.exceptions import ClientError

from . import clients
from .contract import JobAttribute, JobProperty, LauncherEnv, tracker_input
from .errors import (
    CallContext,
    LaunchFailure,
    client_error_code,
    clip_utf8,
    error_detail,
    failing_as,
    reason_for,
)
from .job_api import JobApi, Launch, api_class, is_job_id, job_api, variant_of_job_id
from .job_spec import (
    JobSpec,
    JobSpecError,
    fingerprint,
    fingerprint_of_raw,
    ledger_uri_of_raw,
    parse_job_spec,
    variant_of_raw,
)
from .job_state import ALREADY_ENDED, NOT_FOUND, STOP_REQUESTED, JobState
from .ledger import JobLedger, LaunchRecord, LedgerEntry, utc_now
from .naming import console_url, launch_names, request_token, tracker_execution_name
from .notifications import publish

# Service name, log level: from the environment the construct sets (POWERTOOLS_*).
logger = Logger()

# Data values are short by construction; the clip keeps Data plus the reason far below the
# 4096-byte custom resource response limit even if a service returns something long.
DATA_VALUE_MAX_BYTES = 600
UNKNOWN_AFTER_DESCRIBE_FAILED = "unknown: the job could not be described, see the launcher log"
# Stack states in which a Delete of the job resource takes the tracker (its Lambda, state machine
# and parameters) with it: a stack delete, and the rollback of the stack's first create. Any other
# Delete (an update's cleanup of a replaced job, an update rollback) leaves the tracker following
# the job to its end.
STACK_GOING_STATUSES = frozenset({"DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"})
# What the record of a stack delete's stop may take at most (a few calls, each retried when slow); with
# less left, the Delete returns without it rather than run out of time after the job was stopped.
RECORD_STOP_MIN_SECONDS = 120.0
RECORD_STEP_MIN_SECONDS = 30.0  # and each of its steps (describe, ledger, notification) this much


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, context: Any) -> dict[str, Any]:
    request_type = event.get("RequestType")
    _set_deadline(context)
    logger.append_keys(
        request_type=request_type,
        logical_resource_id=event.get("LogicalResourceId"),
        physical_resource_id=event.physical_resource_id or None,
    )
    try:
        if request_type == "Create":
            return _on_create(event)
        if request_type == "Update":
            return _on_update(event)
        if request_type == "Delete":
            return _on_delete(event)
        raise LaunchFailure(f"Unsupported RequestType {request_type!r}: expected Create, Update or Delete")
    except LaunchFailure:
        raise
    except Exception as exc:  # anything unforeseen still becomes one readable reason
        ctx = CallContext(operation=f"{request_type} of the RFT job", permission="IAM", region=_region_or_unknown())
        reason = reason_for(exc, ctx)
        logger.exception("unexpected launcher failure", extra={"reason": reason, "detail": error_detail(exc)})
        raise LaunchFailure(reason) from exc


# --- time -------------------------------------------------------------------------------

# Stop starting slow work this long before Lambda ends the invocation, so the last words are
# ours (a reason, a ledger entry), not "Task timed out".
DEADLINE_MARGIN_SECONDS = 30.0
_deadline: float | None = None


def _seconds_left() -> float:
    return math.inf if _deadline is None else _deadline - time.monotonic()


def _set_deadline(context: Any) -> None:
    """When this invocation must be done by (time.monotonic), from the Lambda context."""
    global _deadline
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    _deadline = time.monotonic() + remaining() / 1000.0 - DEADLINE_MARGIN_SECONDS if callable(remaining) else None


# --- Create / Update ---------------------------------------------------------------------


def _on_create(event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    spec = _parse_spec(event)
    return _launch(spec, event)


def _on_update(event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    spec = _parse_spec(event)
    region = clients.lambda_region()
    job_fingerprint = fingerprint(spec)
    old_properties = event.old_resource_properties
    # Both sides by this code's formula: a fingerprint formula that changes with an upgrade must
    # not look like a job-defining change (the old JobFingerprint property is the old formula's).
    old_fingerprint = (fingerprint_of_raw(old_properties.get(JobProperty.SPEC))
                       or old_properties.get(JobProperty.FINGERPRINT))
    physical_id = event.physical_resource_id

    current: JobState | None = None
    if is_job_id(spec.variant, physical_id):
        current, describe_error = _describe_for_update(spec.variant, physical_id, region)
        if current is not None and current.fingerprint_hint is None:
            current = _with_ledger_identity(spec, current, region)
        # The second test covers a rollback: CloudFormation sends the old properties back as
        # "new" and the failed ones as "old"; the job we hold still matches, so keep it.
        unchanged = old_fingerprint == job_fingerprint or (
            current is not None and current.matches_fingerprint(job_fingerprint)
        )
        if not unchanged and describe_error is not None:
            # Without the job's own fingerprint a rollback cannot be told from a real change,
            # and guessing "change" would replace (and so stop) a job that should be kept.
            raise LaunchFailure(
                f"No new job was started: reading the current job {physical_id} failed, and without it a "
                f"job-defining change cannot be told from an update rollback (which must keep the job). "
                f"{describe_error}"
            )
    else:
        unchanged = False

    if unchanged:
        logger.info("no job-defining change: keeping the current job", extra={"fingerprint": job_fingerprint})
        return _response(physical_id, _data_for_existing(api_class(spec.variant), physical_id, current,
                                                         job_fingerprint, region))

    logger.info(
        "job-defining change: launching a new job (CloudFormation then deletes the old one)",
        extra={"old_fingerprint": old_fingerprint, "new_fingerprint": job_fingerprint},
    )
    return _launch(spec, event)


def _api(variant: str, region: str) -> JobApi:
    return job_api(variant, clients.lambda_connections(region))


def _launch(spec: JobSpec, event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    region = clients.lambda_region()
    job_fingerprint = fingerprint(spec)
    # Every request carries these (a missing one fails here, before any token is made of a blank).
    stack_id, logical_resource_id = event.stack_id, event.logical_resource_id
    token = request_token(stack_id, logical_resource_id, event.request_id, job_fingerprint)
    names = launch_names(spec.name_prefix, job_fingerprint, token)
    if spec.ignored_fields:
        logger.warning("JobSpec has fields the launcher does not use", extra={"ignored": list(spec.ignored_fields)})
    logger.info(
        "launching RFT job",
        extra={
            "variant": spec.variant,
            "job_name": names.job_name,
            "fingerprint": job_fingerprint,
            "spec": _loggable(spec),
        },
    )
    entry = LedgerEntry(
        job_name=names.job_name,
        variant=spec.variant.value,
        base_model=spec.base_model,
        fingerprint=job_fingerprint,
        request_token=token,
        stack_id=stack_id,
        launched_at=utc_now(),
    )
    api = _api(spec.variant, region)
    record = LaunchRecord(_ledger(spec, region), entry, region, deadline=_deadline)
    job_id = api.launch(
        Launch(
            spec=spec,
            names=names,
            token=token,
            fingerprint=job_fingerprint,
            stack_id=stack_id,
            logical_resource_id=logical_resource_id,
            record=record,
            deadline=_deadline,
        )
    )

    _start_tracker(spec, api, job_id, names.job_name, region)
    data = _data(job_id, names.job_name, api.custom_model_name(names), job_fingerprint, region)
    logger.info("RFT job launched", extra={"job_id": job_id, "data": data})
    return _response(job_id, data)


def _ledger(spec: JobSpec, region: str) -> JobLedger | None:
    if spec.ledger_uri is None:
        logger.warning("JobSpec has no ledgerUri: launches are not recorded (a stack from before the ledger)")
        return None
    return JobLedger(clients.aws_client("s3", region), spec.ledger_uri)


def _start_tracker(spec: JobSpec, api: JobApi, job_id: str, job_name: str, region: str) -> None:
    sfn = clients.aws_client("stepfunctions", region)
    name = tracker_execution_name(job_name, job_id)
    payload = json.dumps(tracker_input(spec.variant, job_id, job_name))
    ctx = CallContext(
        operation="StartExecution of the tracker state machine",
        permission="states:StartExecution",
        region=region,
        access_hint=f" on {spec.state_machine_arn}",
        not_found_hint=f" Check that the state machine {spec.state_machine_arn} exists",
    )
    try:
        with failing_as(ctx):
            try:
                sfn.start_execution(stateMachineArn=spec.state_machine_arn, name=name, input=payload)
            except ClientError as exc:
                if client_error_code(exc) != "ExecutionAlreadyExists":
                    raise
                logger.info("tracker already running for this job (retried request)", extra={"execution_name": name})
    except LaunchFailure as failure:
        # A failed Create gets no Delete for this job, so an untracked job would run (and bill)
        # unseen: stop it before reporting the failure.
        outcome = _stop_quietly(api, job_id)
        raise LaunchFailure(
            f"Job {job_name} was started but its tracker was not, so the job was {outcome}. {failure}"
        ) from failure
    logger.info("tracker started", extra={"execution_name": name})


def _stop_quietly(api: JobApi, job_id: str) -> str:
    try:
        outcome = _stop_job(api, job_id)
    except Exception as exc:
        logger.exception("could not stop the job after the tracker failed", extra={"detail": error_detail(exc)})
        return f"left running (stopping it failed too: stop {job_id} by hand)"
    return {STOP_REQUESTED: api.stopped_word, ALREADY_ENDED: "already finished", NOT_FOUND: "already gone"}.get(
        outcome, outcome
    )


# --- Delete ------------------------------------------------------------------------------


def _on_delete(event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    physical_id = event.physical_resource_id
    declared_variant = variant_of_raw(event.resource_properties.get(JobProperty.SPEC))
    variant = variant_of_job_id(physical_id, declared_variant)
    if variant is None:
        # e.g. the Provider framework's placeholder after a failed Create: there is no job.
        logger.info("physical id is not a job id: nothing to stop", extra={"physical_id": physical_id})
        return {"PhysicalResourceId": physical_id}

    region = clients.lambda_region()
    api = _api(variant, region)
    outcome = _stop_job(api, physical_id)
    # A job that had ended was recorded and announced by its tracker; one this Delete stopped may not be.
    # The record is worth less than the Delete itself: it is skipped when the time left is short.
    if outcome == STOP_REQUESTED and _seconds_left() >= RECORD_STOP_MIN_SECONDS:
        stack_status = _stack_status(event.stack_id, region)
        if stack_status is None or stack_status in STACK_GOING_STATUSES:
            _record_stack_going(event, api, physical_id, stack_status, region)
    logger.info("delete handled; trained models, datasets and outputs are kept", extra={"outcome": outcome})
    return {"PhysicalResourceId": physical_id}


def _stack_status(stack_id: str, region: str) -> str | None:
    """The stack's status, or None when it cannot be read (then Delete records the outcome anyway:
    a note too many beats a job that ends unrecorded)."""
    try:
        stacks = clients.aws_client("cloudformation", region).describe_stacks(StackName=stack_id)["Stacks"]
        return str(stacks[0].get("StackStatus")) if stacks else None
    except Exception as exc:
        logger.warning("could not read the stack's status", extra={"detail": error_detail(exc)})
        return None


def _record_stack_going(event: CloudFormationCustomResourceEvent, api: JobApi, job_id: str,
                        stack_status: str | None, region: str) -> None:
    """The tracker goes with the stack, and its last poll would find its Lambda, topic and parameters
    gone: the job's final word is written here, in the ledger (the bucket is retained) and on the
    topic (deleted only after this resource). Best effort: the job is stopped whatever happens here,
    and a failed Delete would only leave the stack DELETE_FAILED."""
    stack_name = event.stack_id.split("/")[1] if event.stack_id.count("/") >= 2 else event.stack_id
    why = (f"its stack {stack_name} is being deleted ({stack_status})" if stack_status == "DELETE_IN_PROGRESS"
           else f"its stack {stack_name} is rolling back its first create ({stack_status})" if stack_status
           else f"CloudFormation deleted its resource in stack {stack_name} (the stack's status could not be read)")
    state = None
    try:
        if _seconds_left() >= RECORD_STEP_MIN_SECONDS:
            state = api.describe(job_id)
    except Exception as exc:
        logger.warning("could not describe the job after stopping it", extra={"detail": error_detail(exc)})
    status = state.status if state is not None else api.stopped_word
    note = f"stop requested by CloudFormation at {utc_now()}: {why}"
    # Ended only when the service says so (mantle's cancel is final at once; Nova stays Stopping a while).
    ended = state is not None and state.terminal
    job_name = _record_final_in_ledger(event, job_id, status, note, ended, region) or (
        state.job_name if state is not None and state.job_name else job_id)
    topic_arn = (os.environ.get(LauncherEnv.TOPIC_ARN) or "").strip()
    if not topic_arn:  # a launcher deployed before it had the topic
        return
    if _seconds_left() < RECORD_STEP_MIN_SECONDS:
        logger.warning("too little time left to notify the topic that the job was stopped")
        return
    lines = [
        f"The Bedrock RFT job {job_name} was stopped: {why}, and CloudFormation's delete of the job stops it.",
        "Its tracker goes with the stack, so this is the last message about this job.",
        "",
        f"Status now: {status}",
        "Kept: trained models, the training bucket (datasets, job output and the job ledger) and the logs.",
        "",
        f"Job id: {job_id}",
        f"Variant: {api.variant.value}",
        f"Console: {console_url(region)}",
    ]
    try:
        publish(topic_arn, region, job_name=job_name, status=status, variant=api.variant.value,
                message="\n".join(lines))
    except Exception as exc:
        logger.warning("could not notify the topic that the job was stopped", extra={"detail": error_detail(exc)})


def _record_final_in_ledger(event: CloudFormationCustomResourceEvent, job_id: str, status: str, note: str,
                            ended: bool, region: str) -> str | None:
    """The job's entry gets its last known status, why it stops, and its end time once it has ended;
    returns its name (None: no entry)."""
    uri = ledger_uri_of_raw(event.resource_properties.get(JobProperty.SPEC))
    if uri is None or _seconds_left() < RECORD_STEP_MIN_SECONDS:
        return None
    try:
        ledger = JobLedger(clients.aws_client("s3", region), uri)
        entry = ledger.find_by_job_id(job_id)
        if entry is None:
            return None
        changes: dict[str, Any] = {"status": status, "note": note}
        if ended and entry.ended_at is None:
            changes["ended_at"] = utc_now()
        ledger.update(entry.job_name, **changes)
        return entry.job_name
    except Exception as exc:
        logger.warning("could not record the stopped job in the ledger", extra={"detail": error_detail(exc)})
        return None


def _stop_job(api: JobApi, job_id: str) -> str:
    with failing_as(api.stop_call(job_id, principal="launcher role")):
        return api.stop(job_id)


# --- helpers -----------------------------------------------------------------------------


def _parse_spec(event: CloudFormationCustomResourceEvent) -> JobSpec:
    properties = event.resource_properties
    raw = properties.get(JobProperty.SPEC)
    try:
        spec = parse_job_spec(raw)
        api_class(spec.variant).check_spec(spec)
    except JobSpecError as exc:
        logger.error("invalid JobSpec", extra={"error": str(exc), "job_spec": raw})
        raise LaunchFailure(f"Invalid JobSpec: {exc}") from exc
    # The stack shows the fingerprint it computed at synth (`cdk diff`, `rftctl plan`); a job
    # is started only for the definition the user was shown.
    declared = properties.get(JobProperty.FINGERPRINT)
    if declared is not None and declared != fingerprint(spec):
        raise LaunchFailure(
            f"No job was started: the JobFingerprint property ({str(declared)[:64]}) differs from the fingerprint "
            f"of the JobSpec ({fingerprint(spec)}): the template and the launcher disagree on what the job trains "
            "(a template edited by hand, or a bug); nothing starts until they agree."
        )
    return spec


def _describe_for_update(variant: str, job_id: str, region: str) -> tuple[JobState | None, str | None]:
    """The job's state (None if the service no longer knows it), or the reason describing failed.

    A failure (building the client included) is logged and returned, not raised: an update that
    changes nothing job-defining does not need the job's state.
    """
    ctx = CallContext(operation=f"Describing the current job {job_id}", permission="IAM", region=region)
    try:
        api = _api(variant, region)
        ctx = api.describe_call(job_id, principal="launcher role")
        return api.describe(job_id), None
    except Exception as exc:
        reason = reason_for(exc, ctx)
        logger.warning(
            "could not describe the current job",
            extra={"job_id": job_id, "reason": reason, "detail": error_detail(exc)},
        )
        return None, reason


def _with_ledger_identity(spec: JobSpec, current: JobState, region: str) -> JobState:
    """A job the service describes without our name and fingerprint (a mantle job created without
    metadata), completed from its ledger entry; unchanged when there is none or it cannot be read."""
    ledger = _ledger(spec, region)
    if ledger is None:
        return current
    try:
        entry = ledger.find_by_job_id(current.job_id)
    except Exception as exc:
        logger.warning("could not read the job ledger", extra={"job_id": current.job_id, "detail": error_detail(exc)})
        return current
    if entry is None:
        return current
    return replace(current, fingerprint_hint=entry.fingerprint, job_name=current.job_name or entry.job_name)


def _data_for_existing(
    api: type[JobApi], job_id: str, current: JobState | None, job_fingerprint: str, region: str
) -> dict[str, str]:
    job_name = current.job_name if current is not None and current.job_name else UNKNOWN_AFTER_DESCRIBE_FAILED
    custom_model_name = api.custom_model_name_of(current) or UNKNOWN_AFTER_DESCRIBE_FAILED
    return _data(job_id, job_name, custom_model_name, job_fingerprint, region)


def _data(job_id: str, job_name: str, custom_model_name: str, job_fingerprint: str, region: str) -> dict[str, str]:
    return {
        JobAttribute.JOB_ID: job_id,
        JobAttribute.JOB_NAME: job_name,
        JobAttribute.CUSTOM_MODEL_NAME: custom_model_name,
        JobAttribute.CONSOLE_URL: console_url(region),
        JobAttribute.FINGERPRINT: job_fingerprint,
    }


def _response(physical_id: str, data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "PhysicalResourceId": physical_id,
        "Data": {key: clip_utf8(str(value), DATA_VALUE_MAX_BYTES, "...") for key, value in data.items()},
    }


def _loggable(spec: JobSpec) -> dict[str, Any]:
    return {
        "baseModel": spec.base_model,
        "trainingDataUri": spec.training_data_uri,
        "validationDataUri": spec.validation_data_uri,
        "graderArn": spec.grader_arn,
        "hyperParameters": spec.hyper_parameters,
    }


def _region_or_unknown() -> str:
    try:
        return clients.lambda_region()
    except RuntimeError:
        return "the function's region"
