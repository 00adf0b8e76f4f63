"""Custom resource handler that starts, keeps and stops one Bedrock RFT job.

CDK Provider framework `on_event` handler: stacks.rft_job.runtime.launcher.on_event. Create starts
the job and its tracker execution and returns at once (a job runs for hours; a custom resource
may take one). Update starts a new job only when a job-defining field changed. Delete stops
the job if it still runs. Failures raise LaunchFailure, whose message is the short reason
CloudFormation shows; the full detail goes to the log.
"""

from __future__ import annotations

import json
import posixpath
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Iterator, Mapping

import openai
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from . import clients
from .errors import (
    CallContext,
    CreateOutcomeUnknown,
    JobNameTaken,
    LaunchFailure,
    client_error_code,
    clip_utf8,
    error_detail,
    reason_for,
)
from .job_spec import (
    MANTLE,
    MANTLE_CUSTOM_MODEL_NAME,
    NOVA,
    JobSpec,
    JobSpecError,
    LaunchNames,
    console_url,
    fingerprint,
    fingerprint_of_raw,
    is_job_id,
    is_mantle_job_id,
    is_nova_job_arn,
    launch_names,
    mantle_metadata,
    parse_job_spec,
    request_token,
    split_s3_uri,
    tracker_execution_name,
    variant_of_raw,
)
from .job_state import JobState
from .ledger import CREATED, CREATING, REJECTED, UNKNOWN, JobLedger, LedgerConflict, LedgerEntry, utc_now
from .mantle import LOOKUP_MAX_RETRIES, MantleJobs, NotEnoughTime, may_have_been_created, never_reached_service
from .nova import NovaJobs
from .nova import may_have_been_created as nova_may_have_been_created

logger = Logger(service="rft-job-launcher")

# Data values are short by construction; the clip keeps Data plus the reason far below the
# 4096-byte custom resource response limit even if a service returns something long.
DATA_VALUE_MAX_BYTES = 600
UNKNOWN_AFTER_DESCRIBE_FAILED = "unknown: the job could not be described, see the launcher log"


@logger.inject_lambda_context(clear_state=True)
def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request_type = event.get("RequestType")
    _set_deadline(context)
    logger.append_keys(
        request_type=request_type,
        logical_resource_id=event.get("LogicalResourceId"),
        physical_resource_id=event.get("PhysicalResourceId"),
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


def _set_deadline(context: Any) -> None:
    """When this invocation must be done by (time.monotonic), from the Lambda context."""
    global _deadline
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    _deadline = time.monotonic() + remaining() / 1000.0 - DEADLINE_MARGIN_SECONDS if callable(remaining) else None


# --- Create / Update ---------------------------------------------------------------------


def _on_create(event: Mapping[str, Any]) -> dict[str, Any]:
    spec = _parse_spec(event)
    return _launch(spec, event)


def _on_update(event: Mapping[str, Any]) -> dict[str, Any]:
    spec = _parse_spec(event)
    region = clients.lambda_region()
    job_fingerprint = fingerprint(spec)
    old_properties = event.get("OldResourceProperties") or {}
    # Both sides by this code's formula: a fingerprint formula that changes with an upgrade must
    # not look like a job-defining change (the old JobFingerprint property is the old formula's).
    old_fingerprint = fingerprint_of_raw(old_properties.get("JobSpec")) or old_properties.get("JobFingerprint")
    physical_id = str(event.get("PhysicalResourceId") or "")

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
        return _response(physical_id, _data_for_existing(spec, physical_id, current, job_fingerprint, region))

    logger.info(
        "job-defining change: launching a new job (CloudFormation then deletes the old one)",
        extra={"old_fingerprint": old_fingerprint, "new_fingerprint": job_fingerprint},
    )
    return _launch(spec, event)


def _launch(spec: JobSpec, event: Mapping[str, Any]) -> dict[str, Any]:
    region = clients.lambda_region()
    job_fingerprint = fingerprint(spec)
    stack_id = str(event.get("StackId") or "")
    token = request_token(stack_id, str(event.get("LogicalResourceId") or ""), str(event.get("RequestId") or ""),
                          job_fingerprint)
    names = launch_names(spec.name_prefix, job_fingerprint, token)
    if spec.ignored_fields:
        logger.warning("JobSpec has fields the launcher does not use", extra={"ignored": list(spec.ignored_fields)})
    logger.info(
        "launching RFT job",
        extra={"variant": spec.variant, "job_name": names.job_name, "fingerprint": job_fingerprint, "spec": _loggable(spec)},
    )
    entry = LedgerEntry(job_name=names.job_name, variant=spec.variant, base_model=spec.base_model,
                        fingerprint=job_fingerprint, request_token=token, stack_id=stack_id, launched_at=utc_now())
    ledger = _ledger(spec, region)

    if spec.variant == NOVA:
        job_id = _launch_nova(spec, names, token, region, ledger, entry)
        custom_model_name = names.custom_model_name
    else:
        job_id = _launch_mantle(spec, names, token, job_fingerprint, event, region, ledger, entry)
        custom_model_name = MANTLE_CUSTOM_MODEL_NAME

    _start_tracker(spec, job_id, names.job_name, region)
    data = _data(job_id, names.job_name, custom_model_name, job_fingerprint, region)
    logger.info("RFT job launched", extra={"job_id": job_id, "data": data})
    return _response(job_id, data)


def _ledger(spec: JobSpec, region: str) -> JobLedger | None:
    if spec.ledger_uri is None:
        logger.warning("JobSpec has no ledgerUri: launches are not recorded (a stack from before the ledger)")
        return None
    return JobLedger(clients.aws_client("s3", region), spec.ledger_uri)


class _LaunchRecord:
    """This launch's entry in the job ledger: read first, claimed before the create, then settled.

    The claim is a conditional write (absent, or unchanged since it was read), so two attempts of
    the same request running at once cannot both go on to create a job: the second one gets
    LedgerConflict. Writes after the create are best effort, and never replace an entry that
    names a job with one that does not.
    """

    def __init__(self, ledger: JobLedger | None, entry: LedgerEntry, region: str) -> None:
        self.ledger = ledger
        self.entry = entry
        self.region = region
        self.etag: str | None = None
        self.earlier: LedgerEntry | None = None

    def read_earlier(self) -> LedgerEntry | None:
        """The entry an earlier attempt of this same request wrote, if any (the launcher was re-invoked)."""
        if self.ledger is None:
            return None
        ctx = CallContext(operation=f"Reading the job ledger {self.ledger.uri} (s3:GetObject)",
                          permission="s3:GetObject and s3:ListBucket", region=self.region,
                          access_hint=f" on {self.ledger.uri}*")
        with _failing_as(ctx):
            self.earlier, self.etag = self.ledger.get_versioned(self.entry.job_name)
        if self.earlier is not None and self.earlier.request_token != self.entry.request_token:
            raise LaunchFailure(
                f"No job was started: the job ledger already holds {self.ledger.key(self.entry.job_name)} for another "
                "request (its request token differs). Redeploy: a new request gets a new name."
            )
        if self.earlier is not None and self.earlier.request != REJECTED:
            # The first attempt's launch time is when the request first went out.
            self.entry = replace(self.entry, launched_at=self.earlier.launched_at)
        return self.earlier

    def claim(self) -> None:
        """Write the entry before the create request; a launch that cannot be recorded does not start."""
        if self.ledger is None:
            return
        ctx = CallContext(
            operation=f"Recording the launch in the job ledger {self.ledger.uri} (s3:PutObject, before any job "
                      "was created)",
            permission="s3:GetObject, s3:ListBucket and s3:PutObject",
            region=self.region,
            access_hint=f" on {self.ledger.uri}*",
        )
        with _failing_as(ctx):
            self.etag = self.ledger.put(self.entry, only_if_absent=self.earlier is None,
                                        only_if_etag=self.etag if self.earlier is not None else None)

    def settle(self, **changes: Any) -> None:
        """Record what came of the request (best effort: the job exists whatever the ledger says)."""
        if self.ledger is None:
            return
        self.entry = replace(self.entry, **changes)
        try:
            latest, etag = self.ledger.get_versioned(self.entry.job_name)
            if latest is not None and latest.job_id and not self.entry.job_id:
                logger.warning("the ledger entry names a job already: not replacing it with a failure",
                               extra={"entry": latest.to_json(), "failure": self.entry.note})
                return
            self.etag = self.ledger.put(self.entry, only_if_absent=latest is None, only_if_etag=etag)
        except Exception as exc:
            logger.warning("could not record the launch outcome in the job ledger",
                           extra={"entry": self.entry.to_json(), "detail": error_detail(exc)})

    def await_concurrent_attempt(self) -> LedgerEntry | None:
        """The entry of an attempt of this request that claimed the launch first, once it has a job id."""
        assert self.ledger is not None
        deadline = time.monotonic() + CONCURRENT_ATTEMPT_WAIT_SECONDS
        while True:
            latest = self.ledger.get(self.entry.job_name)
            if latest is None or latest.job_id or latest.request in (REJECTED, UNKNOWN):
                return latest
            if time.monotonic() >= deadline or (_deadline is not None and time.monotonic() >= _deadline):
                return latest
            time.sleep(CONCURRENT_ATTEMPT_POLL_SECONDS)


# Another attempt of the same request claimed the launch: how long to wait for its outcome.
CONCURRENT_ATTEMPT_WAIT_SECONDS = 90.0
CONCURRENT_ATTEMPT_POLL_SECONDS = 5.0


def _create_failed(record: _LaunchRecord, failure: LaunchFailure) -> None:
    """Record a failed create: `rejected` only for a definite refusal, else `unknown` (may exist)."""
    rejected = _definitely_rejected(failure.__cause__)
    record.settle(request=REJECTED if rejected else UNKNOWN, note=str(failure))


def _definitely_rejected(cause: BaseException | None) -> bool:
    """The create certainly started no job: the service refused it (4xx), or it was never sent."""
    if isinstance(cause, ClientError):
        return not nova_may_have_been_created(cause)
    if isinstance(cause, (JobNameTaken, JobSpecError, NotEnoughTime)):
        return True
    if isinstance(cause, openai.OpenAIError):
        return not may_have_been_created(cause) or never_reached_service(cause)
    return isinstance(cause, BotoCoreError) and not nova_may_have_been_created(cause)


def _nova_rejection_hint(spec: JobSpec) -> str:
    if spec.validation_data_uri is None:
        return ""
    return (" If it is the validation data it rejects (AWS's Nova SDK sends none for Nova 2 Lite), leave it out "
            "with -c rft:nova.sendValidationData=false.")


def _mantle_rejection_hint(spec: JobSpec) -> str:
    """The fields we send that no AWS example does, each with the switch that leaves it out."""
    sent = []
    if spec.validation_data_uri is not None:
        sent.append("validation_file (rft:mantle.sendValidationFile=false)")
    if spec.send_metadata:
        sent.append("metadata (rft:mantle.sendMetadata=false)")
    if spec.grader_pinned:
        sent.append("a grader version ARN (rft:mantle.pinGraderVersion=false)")
    if not sent:
        return ""
    return f" No AWS example sends {', '.join(sent)}; if the service rejects one, turn it off with -c."


def _launch_nova(spec: JobSpec, names: LaunchNames, token: str, region: str, ledger: JobLedger | None,
                 entry: LedgerEntry) -> str:
    jobs = NovaJobs(clients.aws_client("bedrock", region))
    ctx = CallContext(
        operation="CreateModelCustomizationJob",
        permission="bedrock:CreateModelCustomizationJob and iam:PassRole",
        region=region,
        access_hint=f" and that model access to {spec.base_model} is enabled in {region}",
        not_found_hint=(
            f" Check that {spec.base_model} supports reinforcement fine-tuning in {region}, and that the grader "
            f"version {spec.grader_arn}, the service role and the S3 objects exist"
        ),
        rejection_hint=_nova_rejection_hint(spec),
        lookup_hint=f" or `aws bedrock get-model-customization-job --job-identifier {names.job_name} --region {region}`",
    )
    record = _LaunchRecord(ledger, entry, region)
    earlier = record.read_earlier()
    if earlier is not None and earlier.job_id:
        # This very request created its job already (same token): that is the job.
        logger.info("an earlier attempt of this request created the job: reusing it", extra={"job_id": earlier.job_id})
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
        with _failing_as(ctx):
            job_arn = jobs.create(spec, names, token)
    except LaunchFailure as failure:
        _create_failed(record, failure)
        raise
    record.settle(request=CREATED, job_id=job_arn)
    return job_arn


def _launch_mantle(
    spec: JobSpec,
    names: LaunchNames,
    token: str,
    job_fingerprint: str,
    event: Mapping[str, Any],
    region: str,
    ledger: JobLedger | None,
    entry: LedgerEntry,
) -> str:
    jobs = MantleJobs(clients.mantle_client(region))
    base_url = jobs.base_url
    record = _LaunchRecord(ledger, entry, region)
    earlier = record.read_earlier()

    existing = _earlier_mantle_attempt(spec, jobs, token, earlier, region, base_url)
    if existing is not None:
        logger.info("an earlier attempt already created this job: reusing it", extra={"job_id": existing.job_id})
        record.settle(request=CREATED, job_id=existing.job_id, training_file=(earlier.training_file if earlier else None))
        return existing.job_id

    s3 = clients.aws_client("s3", region)
    training_bytes = _read_s3_object(s3, spec.training_data_uri, "training data", "trainingDataUri", region)
    validation_bytes = (
        _read_s3_object(s3, spec.validation_data_uri, "validation data", "validationDataUri", region)
        if spec.validation_data_uri is not None
        else None
    )

    uploaded: list[str] = []
    upload = CallContext(
        operation="Uploading the training data through the Files API (POST /files)",
        permission="bedrock-mantle:CreateFile",
        region=region,
        base_url=base_url,
    )
    with _failing_as(upload):
        training_file = jobs.upload_jsonl(_file_name(spec.training_data_uri), training_bytes)
        uploaded.append(training_file)
        validation_file = None
        if spec.validation_data_uri is not None and validation_bytes is not None:
            validation_file = jobs.upload_jsonl(_file_name(spec.validation_data_uri), validation_bytes)
            uploaded.append(validation_file)

    metadata: dict[str, str] | None = None
    if spec.send_metadata:
        metadata, dropped_tags = mantle_metadata(
            token=token,
            names=names,
            job_fingerprint=job_fingerprint,
            stack_id=str(event.get("StackId") or ""),
            logical_resource_id=str(event.get("LogicalResourceId") or ""),
            tags=spec.tags,
        )
        if dropped_tags:
            logger.warning("tags that did not fit the job metadata were left out", extra={"dropped": dropped_tags})

    record.entry = replace(record.entry, training_file=training_file)
    try:
        record.claim()
    except LaunchFailure as failure:
        _delete_files_quietly(jobs, uploaded)
        if isinstance(failure.__cause__, LedgerConflict):
            return _after_concurrent_attempt(record, jobs, names)
        raise
    create = CallContext(
        operation="CreateFineTuningJob (POST /fine_tuning/jobs)",
        permission="bedrock-mantle:CreateFineTuningJob",
        region=region,
        base_url=base_url,
        access_hint=f" and that {spec.base_model} is enabled for fine-tuning in {region}",
        rejection_hint=_mantle_rejection_hint(spec),
        lookup_hint=(f" (the job's metadata.rft_job_name is {names.job_name})" if spec.send_metadata
                     else f" (the job's training_file is {training_file})"),
        retries=0,
    )
    try:
        with _failing_as(create):
            state = jobs.create(
                base_model=spec.base_model,
                training_file=training_file,
                validation_file=validation_file,
                metadata=metadata,
                grader_arn=spec.grader_arn,
                hyper_parameters=spec.hyper_parameters,
                job_name=names.job_name,
                token=token,
                started_at=time.time(),
                deadline=_deadline,
            )
    except LaunchFailure as failure:
        if _definitely_rejected(failure.__cause__):
            _delete_files_quietly(jobs, uploaded)
        _create_failed(record, failure)
        raise
    record.settle(request=CREATED, job_id=state.job_id)
    return state.job_id


def _after_concurrent_attempt(record: _LaunchRecord, jobs: MantleJobs, names: LaunchNames) -> str:
    """Another attempt of this request claimed the launch while this one uploaded: its job, or a refusal."""
    latest = record.await_concurrent_attempt()
    if latest is not None and latest.job_id:
        logger.info("a concurrent attempt of this request created the job: reusing it", extra={"job_id": latest.job_id})
        return latest.job_id
    outcome = f"its outcome is {latest.request}" if latest is not None else "its entry is gone"
    raise LaunchFailure(
        f"No second job was started: another attempt of this same request claimed the launch of job "
        f"{names.job_name} first, and {outcome}. Check with `rftctl history`; stop it with "
        f"`rftctl stop --job {names.job_name}` if it runs and you do not want it."
    )


def _earlier_mantle_attempt(spec: JobSpec, jobs: MantleJobs, token: str, earlier: LedgerEntry | None,
                            region: str, base_url: str) -> JobState | None:
    """A job an earlier attempt of this same request created (a re-invoked launcher), or None.

    Found by its ledger entry (its job id, or the file it was created with) or by the request
    token in its metadata. An earlier attempt that may have created a job that is not found now
    stops this one: its job may still appear, and a second create would be a second paid job.
    """
    lookup = CallContext(
        operation="ListFineTuningJobs (looking for a job an earlier attempt started)",
        permission="bedrock-mantle:ListFineTuningJobs and bedrock-mantle:GetFineTuningJob",
        region=region,
        base_url=base_url,
        retries=LOOKUP_MAX_RETRIES,
    )
    training_file = earlier.training_file if earlier is not None else None
    found: JobState | None = None
    with _failing_as(lookup):
        if earlier is not None and earlier.job_id:
            found = jobs.describe(earlier.job_id)
        elif spec.send_metadata or training_file is not None:
            started = datetime.fromisoformat(earlier.launched_at).timestamp() if earlier is not None else None
            found = jobs.find_launch(token=token if spec.send_metadata else None, training_file=training_file,
                                     created_after=started, quick=True)
    if found is not None:
        return found
    if earlier is not None and (earlier.job_id or earlier.request in (CREATING, UNKNOWN)):
        what = (f"created job {earlier.job_id}, which the service does not know (yet)" if earlier.job_id
                else f"may have created job {earlier.job_name} (its create got no definite answer), and no such "
                     "job was found")
        raise LaunchFailure(
            f"No second job was started: an earlier attempt of this same request {what}. Check with "
            f"`rftctl history`; if it appears, stop it with `rftctl stop --job {earlier.job_name}`. Then deploy "
            "again: a new request launches a new job."
        )
    return None


def _read_s3_object(s3: Any, uri: str, label: str, field: str, region: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    ctx = CallContext(
        operation=f"Reading the {label} {uri} (s3:GetObject)",
        permission="s3:GetObject (and kms:Decrypt if the bucket uses a KMS key)",
        region=region,
        access_hint=f" on {uri}",
        not_found_hint=f" Check that the training-data deployment uploaded it and that JobSpec.{field} names it",
    )
    with _failing_as(ctx):
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _file_name(uri: str) -> str:
    return posixpath.basename(split_s3_uri(uri)[1]) or "data.jsonl"


def _delete_files_quietly(jobs: MantleJobs, file_ids: list[str]) -> None:
    for file_id in file_ids:
        try:
            jobs.delete_file(file_id)
        except Exception as exc:  # cleanup only: the launch failure is what matters
            logger.warning("could not delete an uploaded file", extra={"file_id": file_id, "detail": error_detail(exc)})


def _start_tracker(spec: JobSpec, job_id: str, job_name: str, region: str) -> None:
    sfn = clients.aws_client("stepfunctions", region)
    name = tracker_execution_name(job_name, job_id)
    payload = json.dumps({"variant": spec.variant, "jobId": job_id, "jobName": job_name, "polls": 0})
    ctx = CallContext(
        operation="StartExecution of the tracker state machine",
        permission="states:StartExecution",
        region=region,
        access_hint=f" on {spec.state_machine_arn}",
        not_found_hint=f" Check that the state machine {spec.state_machine_arn} exists",
    )
    try:
        with _failing_as(ctx):
            try:
                sfn.start_execution(stateMachineArn=spec.state_machine_arn, name=name, input=payload)
            except ClientError as exc:
                if client_error_code(exc) != "ExecutionAlreadyExists":
                    raise
                logger.info("tracker already running for this job (retried request)", extra={"execution_name": name})
    except LaunchFailure as failure:
        # A failed Create gets no Delete for this job, so an untracked job would run (and bill)
        # unseen: stop it before reporting the failure.
        outcome = _stop_quietly(spec.variant, job_id, region)
        raise LaunchFailure(f"Job {job_name} was started but its tracker was not, so the job was {outcome}. {failure}")
    logger.info("tracker started", extra={"execution_name": name})


def _stop_quietly(variant: str, job_id: str, region: str) -> str:
    try:
        outcome = _stop_job(variant, job_id, region)
    except Exception as exc:
        logger.exception("could not stop the job after the tracker failed", extra={"detail": error_detail(exc)})
        return f"left running (stopping it failed too: stop {job_id} by hand)"
    return {"stop-requested": "stopped", "already-ended": "already finished", "not-found": "already gone"}.get(
        outcome, outcome
    )


# --- Delete ------------------------------------------------------------------------------


def _on_delete(event: Mapping[str, Any]) -> dict[str, Any]:
    physical_id = str(event.get("PhysicalResourceId") or "")
    declared_variant = variant_of_raw((event.get("ResourceProperties") or {}).get("JobSpec"))
    if is_nova_job_arn(physical_id):
        variant = NOVA
    elif is_mantle_job_id(physical_id) and declared_variant in (MANTLE, None):
        variant = MANTLE
    else:
        # e.g. the Provider framework's placeholder after a failed Create: there is no job.
        logger.info("physical id is not a job id: nothing to stop", extra={"physical_id": physical_id})
        return {"PhysicalResourceId": physical_id}

    region = clients.lambda_region()
    outcome = _stop_job(variant, physical_id, region)
    logger.info("delete handled; trained models, datasets and outputs are kept", extra={"outcome": outcome})
    return {"PhysicalResourceId": physical_id}


def _stop_job(variant: str, job_id: str, region: str) -> str:
    if variant == NOVA:
        ctx = CallContext(
            operation="StopModelCustomizationJob",
            permission="bedrock:GetModelCustomizationJob and bedrock:StopModelCustomizationJob",
            region=region,
            access_hint=f" on {job_id}",
        )
        with _failing_as(ctx):
            return NovaJobs(clients.aws_client("bedrock", region)).stop(job_id)
    mantle_client = clients.mantle_client(region)
    ctx = CallContext(
        operation="CancelFineTuningJob (POST /fine_tuning/jobs/{id}/cancel)",
        permission="bedrock-mantle:GetFineTuningJob and bedrock-mantle:CancelFineTuningJob",
        region=region,
        base_url=str(mantle_client.base_url),
    )
    with _failing_as(ctx):
        return MantleJobs(mantle_client).cancel(job_id)


# --- helpers -----------------------------------------------------------------------------


@contextmanager
def _failing_as(ctx: CallContext) -> Iterator[None]:
    """Turn any error inside the block into a LaunchFailure with a reason for this call."""
    try:
        yield
    except LaunchFailure:
        raise
    except Exception as exc:
        reason = reason_for(exc, ctx)
        logger.exception(
            "call failed", extra={"operation": ctx.operation, "reason": reason, "detail": error_detail(exc)}
        )
        raise LaunchFailure(reason) from exc


def _parse_spec(event: Mapping[str, Any]) -> JobSpec:
    properties = event.get("ResourceProperties") or {}
    raw = properties.get("JobSpec")
    try:
        spec = parse_job_spec(raw)
    except JobSpecError as exc:
        logger.error("invalid JobSpec", extra={"error": str(exc), "job_spec": raw})
        raise LaunchFailure(f"Invalid JobSpec: {exc}") from exc
    # The stack shows the fingerprint it computed at synth (`cdk diff`, `rftctl plan`); a job
    # is started only for the definition the user was shown.
    declared = properties.get("JobFingerprint")
    if declared is not None and declared != fingerprint(spec):
        raise LaunchFailure(
            f"No job was started: the JobFingerprint property ({str(declared)[:64]}) differs from the fingerprint "
            f"of the JobSpec ({fingerprint(spec)}): the template and the launcher disagree on what the job trains "
            "(a template edited by hand, or a bug); nothing starts until they agree."
        )
    return spec


def _describe_for_update(variant: str, job_id: str, region: str) -> tuple[JobState | None, str | None]:
    """The job's state (None if the service no longer knows it), or the reason describing failed.

    A failure is logged and returned, not raised: an update that changes nothing job-defining
    does not need the job's state.
    """
    if variant == NOVA:
        ctx = CallContext(
            operation="GetModelCustomizationJob",
            permission="bedrock:GetModelCustomizationJob",
            region=region,
            access_hint=f" on {job_id}",
        )
    else:
        ctx = CallContext(
            operation="GetFineTuningJob (GET /fine_tuning/jobs/{id})",
            permission="bedrock-mantle:GetFineTuningJob",
            region=region,
        )
    try:
        if variant == NOVA:
            return NovaJobs(clients.aws_client("bedrock", region)).describe(job_id), None
        return MantleJobs(clients.mantle_client(region)).describe(job_id), None
    except Exception as exc:
        reason = reason_for(exc, ctx)
        logger.warning(
            "could not describe the current job", extra={"job_id": job_id, "reason": reason, "detail": error_detail(exc)}
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
    spec: JobSpec, job_id: str, current: JobState | None, job_fingerprint: str, region: str
) -> dict[str, str]:
    job_name = current.job_name if current is not None and current.job_name else UNKNOWN_AFTER_DESCRIBE_FAILED
    if spec.variant == MANTLE:
        custom_model_name = MANTLE_CUSTOM_MODEL_NAME
    elif current is not None and current.custom_model_name:
        custom_model_name = current.custom_model_name
    else:
        custom_model_name = UNKNOWN_AFTER_DESCRIBE_FAILED
    return _data(job_id, job_name, custom_model_name, job_fingerprint, region)


def _data(job_id: str, job_name: str, custom_model_name: str, job_fingerprint: str, region: str) -> dict[str, str]:
    return {
        "JobId": job_id,
        "JobName": job_name,
        "CustomModelName": custom_model_name,
        "ConsoleUrl": console_url(region),
        "Fingerprint": job_fingerprint,
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
