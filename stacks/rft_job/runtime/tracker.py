"""Step Functions task that polls one RFT job and records its outcome.

Handler: stacks.rft_job.runtime.tracker.handler. The state machine loops Wait -> this task -> Choice
on `$.terminal`. Each call reads the job's status; for the stack's current job it writes the
status (and, at the end, the model id or the failure) to SSM; at the end it always publishes one
SNS message, and for a completed Nova job it can create an on-demand deployment.

Throttling and service errors are raised so the state machine's Retry handles them; a job the
service no longer knows ends the loop with status "NotFound" (from the second poll on: the first
runs right after the launch and may not see the new job yet).

No job runs unwatched or unwanted:
- A job that is no longer the stack's current job (an update replaced it, or launchJob went
  off) is stopped by its own tracker once the stack has settled, should CloudFormation's own
  cleanup Delete have failed. While the stack is still being updated a new job may not be
  current yet, so nothing is stopped then.
- The tracker never goes quiet: a status it does not know, for UNKNOWN_STATUS_GIVE_UP_HOURS,
  makes it give up with a status and a notification saying so (the state machine does the same
  when the tracker keeps failing).
- Each status change and the outcome are recorded in the job ledger (see ledger.py).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from . import clients
from .contract import (
    NOT_FOUND_STATUS,
    STOP_FAILED,
    TRACKER_GAVE_UP,
    VARIANTS,
    TrackerEnv,
    TrackerField,
    tracker_input,
)
from .errors import client_error_code, clip_utf8, error_detail, is_transient, reason_for
from .job_api import JobApi, job_api
from .job_state import JobState
from .ledger import JobLedger, utc_now
from .naming import (
    console_url,
    deployment_description,
    deployment_name,
    deployment_request_token,
)
from .notifications import publish

# Service name, log level: from the environment the construct sets (POWERTOOLS_*).
logger = Logger()

# Standard-tier parameters hold 4 KB (UTF-8 bytes); a failure message may be longer.
SSM_VALUE_MAX_BYTES = 4096
SSM_TRUNCATED_MARKER = " ... (truncated: the SNS message has it all)"
# A status the tracker cannot interpret (neither running nor ended) for this long means it can
# no longer tell when the job ends: it stops tracking and says so rather than poll blindly.
UNKNOWN_STATUS_GIVE_UP_HOURS = 12
# Stack states in which the job id parameter is final: no update is under way or rolling back.
# DELETE_FAILED and ROLLBACK_FAILED too: the stack (or its first create) was meant to go, and
# CloudFormation deletes the job id parameter (it depends on the job) before the job resource,
# whose failed Delete left the job running.
SETTLED_STACK_STATUSES = frozenset({
    "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE",
    "DELETE_FAILED", "ROLLBACK_FAILED",
})


@dataclass(frozen=True)
class TrackerSettings:
    variant: str | None
    status_parameter: str
    model_parameter: str
    failure_parameter: str
    job_id_parameter: str
    deployment_parameter: str | None
    topic_arn: str
    create_deployment: bool
    stack_id: str | None = None  # the stack's ARN: whether it has settled
    ledger_uri: str | None = None
    state_machine_arn: str | None = None  # for the restart instructions when it gives up

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrackerSettings:
        source = os.environ if env is None else env

        def required(name: str) -> str:
            value = (source.get(name) or "").strip()
            if not value:
                raise RuntimeError(f"Tracker environment variable {name} is not set")
            return value

        def optional(name: str) -> str | None:
            return (source.get(name) or "").strip() or None

        variant = optional(TrackerEnv.VARIANT)
        if variant is not None and variant not in VARIANTS:
            raise RuntimeError(
                f"Tracker environment variable {TrackerEnv.VARIANT} must be one of {', '.join(VARIANTS)}"
            )
        return cls(
            variant=variant,
            status_parameter=required(TrackerEnv.STATUS_PARAMETER),
            model_parameter=required(TrackerEnv.MODEL_PARAMETER),
            failure_parameter=required(TrackerEnv.FAILURE_PARAMETER),
            job_id_parameter=required(TrackerEnv.JOB_ID_PARAMETER),
            deployment_parameter=optional(TrackerEnv.DEPLOYMENT_PARAMETER),
            topic_arn=required(TrackerEnv.TOPIC_ARN),
            create_deployment=(optional(TrackerEnv.CREATE_DEPLOYMENT) or "").lower() == "true",
            stack_id=optional(TrackerEnv.STACK_ID),
            ledger_uri=optional(TrackerEnv.LEDGER_URI),
            state_machine_arn=optional(TrackerEnv.STATE_MACHINE_ARN),
        )


@dataclass
class TerminalRecord:
    """What happened at the end, for the notification."""

    parameters_updated: bool = False
    deployment_arn: str | None = None
    deployment_error: str | None = None


@logger.inject_lambda_context(clear_state=True)
def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    settings = TrackerSettings.from_env()
    job_id = str(event.get(TrackerField.JOB_ID) or "")
    if not job_id:
        raise ValueError(f"Tracker input has no {TrackerField.JOB_ID}")
    variant = _variant(event, settings)
    job_name = str(event.get(TrackerField.JOB_NAME) or job_id)
    polls = int(event.get(TrackerField.POLLS) or 0)
    region = clients.lambda_region()
    api = _api(variant, region)
    logger.append_keys(job_id=job_id, job_name=job_name, variant=variant)

    def result(
        status: str, terminal: bool, *, unknown_since: float | None = None, gave_up: bool = False
    ) -> dict[str, Any]:
        # Every key the state machine reads is always there (a missing path fails the execution).
        return {
            **event,
            TrackerField.STATUS: status,
            TrackerField.TERMINAL: terminal,
            TrackerField.POLLS: polls + 1,
            TrackerField.UNKNOWN_SINCE: unknown_since,
            TrackerField.GAVE_UP: gave_up,
        }

    state = api.describe(job_id)
    status = state.status if state is not None else NOT_FOUND_STATUS
    if state is None and polls == 0:
        # The launcher starts tracking the moment the job is created; a read that does not see
        # it yet is the service catching up, not the job's end. The next poll decides.
        logger.warning("job not visible yet on the first poll: polling again")
        return result(status, False)
    terminal = state is None or state.terminal
    logger.info("job polled", extra={"status": status, "terminal": terminal, "polls": polls + 1})

    ssm = clients.aws_client("ssm", region)
    record = TerminalRecord()
    current_job = _parameter_value(ssm, settings.job_id_parameter)
    is_current = current_job == job_id
    note: str | None = None
    if is_current:
        _put_if_changed(ssm, settings.status_parameter, status)
        if terminal:
            _record_outcome(ssm, settings, api, job_id, job_name, state, record)
            record.parameters_updated = True
    else:
        # An old job being cancelled after a replacement must not overwrite the new job's values.
        logger.info("not the stack's current job: SSM parameters left alone", extra={"current_job": current_job})
        if state is not None and state.running:
            note, stop_failed = _stop_if_no_longer_wanted(settings, ssm, api, job_id, region)
            if stop_failed and not event.get(TrackerField.STOP_FAILURE_NOTIFIED):
                _notify_stop_failure(settings, variant, job_id, job_name, note or "", region)
                event = {**event, TrackerField.STOP_FAILURE_NOTIFIED: True}

    unknown_since = _unknown_since(event, state)
    gave_up = unknown_since is not None and time.time() - unknown_since >= UNKNOWN_STATUS_GIVE_UP_HOURS * 3600
    _record_in_ledger(settings, job_name, state, terminal, note, region)
    if gave_up:
        reason = (
            f"its status {status!r} has meant nothing to the tracker for {UNKNOWN_STATUS_GIVE_UP_HOURS} hours, "
            "so it cannot tell when the job ends"
        )
        give_up(settings, variant, job_id, job_name, reason, is_current, region)
        # terminal too: an execution of an older definition (no gaveUp branch) must end, not give up
        # again on every poll.
        return result(status, True, unknown_since=unknown_since, gave_up=True)
    if terminal:
        _notify(settings, api, job_id, job_name, status, state, record, polls + 1, region)
    return result(status, terminal, unknown_since=unknown_since)


def _unknown_since(event: Mapping[str, Any], state: JobState | None) -> float | None:
    """Since when the job's status has been one the tracker cannot interpret; None while it can."""
    if state is None or state.known_status:
        return None
    since = event.get(TrackerField.UNKNOWN_SINCE)
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        return float(since)
    logger.warning("the job reports a status the tracker does not know", extra={"status": state.status})
    return time.time()


def _stop_if_no_longer_wanted(
    settings: TrackerSettings, ssm: Any, api: JobApi, job_id: str, region: str
) -> tuple[str | None, bool]:
    """Stop a running job that is no longer the stack's current job, once the stack has settled.

    CloudFormation's Delete of a replaced job normally stops it; this covers a Delete that
    failed. During an update a new job is not yet the current one, so the stack must have
    settled first, and the job id parameter is read again after that: read before, it may
    predate the update that just made this job the current one. Returns the note for the
    ledger and whether the stop failed: a stop that fails (the same failure that probably made
    CloudFormation's Delete fail) is reported and tried again on the next poll; tracking goes on.
    """
    if settings.stack_id is None:
        return None, False
    cloudformation = clients.aws_client("cloudformation", region)
    stacks = cloudformation.describe_stacks(StackName=settings.stack_id)["Stacks"]
    stack_status = str(stacks[0].get("StackStatus")) if stacks else "missing"
    if stack_status not in SETTLED_STACK_STATUSES:
        logger.info(
            "not the current job, but the stack has not settled: not stopping it", extra={"stack_status": stack_status}
        )
        return None, False
    current_job = _parameter_value(ssm, settings.job_id_parameter)
    if current_job == job_id:
        logger.info("the stack settled with this job as its current job: tracking on")
        return None, False
    why = f"no longer the stack's current job (the stack's job is {current_job or 'none'}, stack {stack_status})"
    try:
        outcome = api.stop(job_id)
    except Exception as exc:
        reason = reason_for(exc, api.stop_call(job_id, "tracker role"))
        note = f"its tracker could not stop it at {utc_now()} ({why}): {reason}"
        logger.exception("could not stop a job that is no longer the stack's current job", extra={"note": note})
        return note, True
    note = f"stopped by its tracker at {utc_now()}: {why}; outcome {outcome}"
    logger.warning("stopped a job that is no longer the stack's current job", extra={"note": note})
    return note, False


def _notify_stop_failure(
    settings: TrackerSettings, variant: str, job_id: str, job_name: str, note: str, region: str
) -> None:
    """Once per execution: a job nobody wants still runs, and its tracker cannot stop it."""
    lines = [
        f"The Bedrock RFT job {job_name} is no longer its stack's job but still runs, and its tracker could not "
        "stop it. It keeps billing until it is stopped; the tracker tries again on every poll.",
        "",
        note,
        "",
        f"Job id: {job_id}",
        f"Stop it: rftctl stop --job {job_id}",
    ]
    _publish(settings, region, job_name=job_name, status=STOP_FAILED, variant=variant, message="\n".join(lines))


def _publish(settings: TrackerSettings, region: str, *, job_name: str, status: str, variant: str,
             message: str) -> None:
    publish(settings.topic_arn, region, job_name=job_name, status=status, variant=variant, message=message)


def _record_in_ledger(
    settings: TrackerSettings, job_name: str, state: JobState | None, terminal: bool, note: str | None, region: str
) -> None:
    """Best effort: the SSM parameters and the notification are the tracker's duty; the ledger is the history."""
    if settings.ledger_uri is None:
        return
    changes: dict[str, Any] = {"status": state.status if state is not None else NOT_FOUND_STATUS}
    if state is not None and state.output_model:
        changes["output_model"] = state.output_model
    if note:
        changes["note"] = note
    try:
        ledger = JobLedger(clients.aws_client("s3", region), settings.ledger_uri)
        entry = ledger.get(job_name)
        if entry is None:
            return
        if terminal and entry.ended_at is None:
            changes["ended_at"] = utc_now()
        ledger.update(job_name, **changes)
    except Exception as exc:
        logger.warning("could not record the job's status in the ledger", extra={"detail": error_detail(exc)})


def give_up(
    settings: TrackerSettings, variant: str, job_id: str, job_name: str, reason: str, is_current: bool, region: str
) -> None:
    """Stop tracking loudly: the status parameter (for the current job) and one notification say so."""
    status = f"{TRACKER_GAVE_UP}: {reason}; the job may still be running (rftctl status)"
    if is_current:
        _put_if_changed(clients.aws_client("ssm", region), settings.status_parameter, status)
    restart = json.dumps(tracker_input(variant, job_id, job_name))
    lines = [
        f"The tracker of the Bedrock RFT job {job_name} stopped following it: {reason}.",
        "The job itself was not stopped and may still be running (and billing).",
        "",
        f"Job id: {job_id}",
        f"Check it: rftctl status --job {job_id}",
        f"Stop it: rftctl stop --job {job_id}",
        "Track it again: start an execution of "
        f"{settings.state_machine_arn or 'the stack tracker state machine'} with input {restart}",
    ]
    _publish(settings, region, job_name=job_name, status=TRACKER_GAVE_UP, variant=variant, message="\n".join(lines))
    logger.error("tracking gave up", extra={"reason": reason})


def _variant(event: Mapping[str, Any], settings: TrackerSettings) -> str:
    event_variant = event.get(TrackerField.VARIANT)
    if event_variant is not None and event_variant not in VARIANTS:
        raise ValueError(f"Tracker input variant must be one of {', '.join(VARIANTS)} (got {event_variant!r})")
    if event_variant and settings.variant and event_variant != settings.variant:
        raise ValueError(
            f"Tracker input variant {event_variant!r} does not match the function's VARIANT {settings.variant!r}"
        )
    variant = event_variant or settings.variant
    if variant is None:
        raise ValueError("Tracker input has no variant and VARIANT is not set")
    return str(variant)


def _api(variant: str, region: str) -> JobApi:
    # Polls are small reads that must finish well inside the tracker's short timeout (Step
    # Functions retries the task), so the mantle client gets a short timeout and few retries.
    return job_api(
        variant,
        clients.lambda_connections(
            region,
            mantle_timeout_seconds=clients.TRACKER_MANTLE_TIMEOUT_SECONDS,
            mantle_max_retries=clients.TRACKER_MANTLE_MAX_RETRIES,
        ),
    )


def _parameter_value(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError as exc:
        if client_error_code(exc) == "ParameterNotFound":
            return None
        raise


def parameter_value(value: str) -> str:
    """`value` as a standard String parameter accepts it: 1 to 4096 bytes, no {{...}} references."""
    text = re.sub(r"([{}])(?=\1)", r"\1 ", value) or "-"
    return clip_utf8(text, SSM_VALUE_MAX_BYTES, SSM_TRUNCATED_MARKER)


def _put_if_changed(ssm: Any, name: str, value: str) -> bool:
    text = parameter_value(value)
    if _parameter_value(ssm, name) == text:
        logger.debug("parameter unchanged: not written", extra={"parameter": name})
        return False
    ssm.put_parameter(Name=name, Value=text, Type="String", Overwrite=True)
    logger.info("parameter written", extra={"parameter": name, "value": text})
    return True


def _record_outcome(
    ssm: Any,
    settings: TrackerSettings,
    api: JobApi,
    job_id: str,
    job_name: str,
    state: JobState | None,
    record: TerminalRecord,
) -> None:
    if state is not None and state.succeeded and state.output_model:
        _put_if_changed(ssm, settings.model_parameter, state.output_model)
        if api.deploys_models and settings.create_deployment:
            _deploy(ssm, settings, api, job_name, state, record)
        return
    _put_if_changed(ssm, settings.failure_parameter, _failure_text(job_id, state))


def _failure_text(job_id: str, state: JobState | None) -> str:
    if state is None:
        return f"{NOT_FOUND_STATUS}: job {job_id} no longer exists"
    if state.stopped:
        return f"{state.status}: the job was stopped before it finished (stack update or delete, or an operator)"
    if state.succeeded:
        return f"{state.status}: the job finished but reported no model id"
    return f"{state.status}: {state.failure_message or 'the service gave no failure message'}"


def _deploy(
    ssm: Any, settings: TrackerSettings, api: JobApi, job_name: str, state: JobState, record: TerminalRecord
) -> None:
    """Create the on-demand deployment; a permanent failure is reported, not retried forever."""
    assert state.output_model is not None
    try:
        record.deployment_arn = api.ensure_deployment(
            name=deployment_name(job_name, state.job_id),
            model_arn=state.output_model,
            token=deployment_request_token(state.job_id),
            description=deployment_description(job_name),
        )
    except ClientError as exc:
        if is_transient(exc):
            raise
        record.deployment_error = reason_for(exc, api.deployment_call(state.output_model, "tracker role"))
        logger.exception("deployment failed", extra={"reason": record.deployment_error, "detail": error_detail(exc)})
        return
    if settings.deployment_parameter:
        _put_if_changed(ssm, settings.deployment_parameter, record.deployment_arn)


def _notify(
    settings: TrackerSettings,
    api: JobApi,
    job_id: str,
    job_name: str,
    status: str,
    state: JobState | None,
    record: TerminalRecord,
    polls: int,
    region: str,
) -> None:
    variant = api.variant.value
    succeeded = state is not None and state.succeeded
    model = state.output_model if state is not None else None
    lines = [f"The Bedrock RFT job {job_name} ended with status {status}.", ""]
    if succeeded and model:
        lines += [f"Model: {model}", api.model_usage]
        if record.deployment_arn:
            lines.append(f"Deployment: {record.deployment_arn} (check it is Active before invoking)")
        elif record.deployment_error:
            lines.append(f"Deployment failed: {record.deployment_error}")
        elif api.deploys_models:
            lines.append(f"Deployment: not requested ({TrackerEnv.CREATE_DEPLOYMENT} is off)")
    else:
        lines.append(f"Outcome: {_failure_text(job_id, state)}")
    lines += [
        "",
        f"Job id: {job_id}",
        f"Variant: {variant}",
        f"Console: {console_url(region)}",
        "SSM parameters: "
        + (
            "updated (this is the stack's current job)"
            if record.parameters_updated
            else "left alone (the stack now tracks another job)"
        ),
        f"Polls: {polls}",
    ]
    facts = {
        "variant": variant,
        "jobId": job_id,
        "jobName": job_name,
        "status": status,
        "succeeded": succeeded,
        "model": model,
        "failureMessage": state.failure_message if state is not None else None,
        "deploymentArn": record.deployment_arn,
        "deploymentError": record.deployment_error,
        "currentJob": record.parameters_updated,
        "polls": polls,
        "region": region,
    }
    message = "\n".join(lines) + "\n\nFacts (JSON):\n" + json.dumps(facts, indent=2, sort_keys=True)
    _publish(settings, region, job_name=job_name, status=status, variant=variant, message=message)
    logger.info("notification published", extra={"status": status})
