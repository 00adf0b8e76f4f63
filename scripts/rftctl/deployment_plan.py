"""What a deploy would do to each stack's paid job: the synthesized assembly against the deployed stacks.

A job starts exactly when the job resource's JobFingerprint changes (or the resource appears),
and the job it replaces is stopped; a job resource that disappears (rft:launchJob off) stops its
job. Everything else a deploy changes leaves the job alone.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.contract import (
    JOB_RESOURCE_TYPE,
    NOT_FOUND_STATUS,
    UNSET_PARAMETER_VALUES,
    JobProperty,
    Output,
)
from stacks.rft_job.runtime.job_spec import JobSpecError, fingerprint_of_document

from .errors import EXIT_CHECK_FAILED, CliError

if TYPE_CHECKING:
    from .aws import ClientFactory

SHOWN_FINGERPRINT = 12

# What the deploy does to the stack's job.
STARTS = "starts"  # a new paid job (and stops the one it replaces, if it still runs)
KEEPS = "keeps"
STOPS = "stops"  # no job any more: the running one is stopped
NONE = "none"  # no job before or after


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    region: str
    fingerprint: str | None  # None: the stack has no job resource (rft:launchJob false)


# A stack in one of these has no resources a deploy would keep: cdk deploy creates it anew.
RECREATED_STACK_STATUSES = frozenset({"ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "DELETE_COMPLETE"})


@dataclass(frozen=True)
class DeployedJob:
    exists: bool  # the stack is deployed (and a deploy would update it, not create it anew)
    has_job_resource: bool
    fingerprint: str | None  # None with a job resource: the template predates JobFingerprint
    job_id: str | None
    status: str | None
    stack_status: str | None = None


@dataclass(frozen=True)
class StackPlan:
    stack: SynthesizedStack
    deployed: DeployedJob
    action: str

    @property
    def paid_change(self) -> bool:
        """Starts or stops a job: the deploy must not run without the user's yes."""
        return self.action == STARTS or self.stops_running_job

    @property
    def stops_running_job(self) -> bool:
        return self.action in (STARTS, STOPS) and self._running_job()

    def _running_job(self) -> bool:
        return self.deployed.job_id is not None and not _ended(self.deployed.status)

    def data(self) -> dict[str, Any]:
        """The plan of this stack as data (plan --json): what the deploy does, what is deployed now, the line."""
        deployed = self.deployed
        return {
            "stack": self.stack.name,
            "region": self.stack.region,
            "action": self.action,
            "fingerprint": self.stack.fingerprint,
            "paidChange": self.paid_change,
            "stopsRunningJob": self.stops_running_job,
            "deployed": {
                "exists": deployed.exists,
                "stackStatus": deployed.stack_status,
                "hasJobResource": deployed.has_job_resource,
                "fingerprint": deployed.fingerprint,
                "jobId": deployed.job_id,
                "jobStatus": deployed.status,
            },
            "summary": self.line(),
        }

    def line(self) -> str:
        stack, deployed = self.stack, self.deployed
        where = f"{stack.name} ({stack.region})"
        new = f"fingerprint {_short(stack.fingerprint)}"
        old = _job(deployed)
        settling = (f" (the stack is {deployed.stack_status}: plan again once it has settled)"
                    if deployed.stack_status and deployed.stack_status.endswith("_IN_PROGRESS") else "")
        return self._line(where, new, old, deployed) + settling

    def _line(self, where: str, new: str, old: str | None, deployed: DeployedJob) -> str:
        if self.action == STARTS:
            if not deployed.exists and deployed.stack_status:
                return (f"{where}: starts a new paid job ({new}; the stack is {deployed.stack_status}, "
                        "so the deploy creates it anew)")
            if not deployed.exists:
                return f"{where}: starts a new paid job ({new}; new stack)"
            if deployed.has_job_resource and deployed.fingerprint is None:
                return (
                    f"{where}: starts a new paid job ({new}; the deployed job resource has no JobFingerprint to "
                    f"compare, so a new job is assumed) and stops {old}"
                )
            if old is None:
                return f"{where}: starts a new paid job ({new}; the stack has no job yet)"
            verb = "stops" if self._running_job() else "replaces"
            return f"{where}: starts a new paid job ({verb} {old}; {new}, was {_short(deployed.fingerprint)})"
        if self.action == KEEPS:
            return f"{where}: keeps {old or 'its job'} ({new})"
        if self.action == STOPS:
            if self._running_job():
                return f"{where}: no job (rft:launchJob false): stops {old}"
            return f"{where}: no job (rft:launchJob false); the stack's job resource is removed ({old or 'no job'})"
        return f"{where}: no job (rft:launchJob false)"


def _short(fingerprint: str | None) -> str:
    return fingerprint[:SHOWN_FINGERPRINT] if fingerprint else "none"


def _job(deployed: DeployedJob) -> str | None:
    if deployed.job_id is None:
        return None
    return f"job {deployed.job_id}" + (f", {deployed.status}" if deployed.status else "")


@functools.cache
def _ended_statuses() -> frozenset[str]:
    """Every API's final statuses, and the tracker's "no such job": nothing stops a job in one of them."""
    from stacks.rft_job.runtime.job_api import ADAPTERS, api_class

    return frozenset({NOT_FOUND_STATUS}).union(*(api_class(variant).statuses.terminal for variant in ADAPTERS))


def _ended(status: str | None) -> bool:
    return status is not None and status.split(":", 1)[0] in _ended_statuses()


def synthesized_stacks(cdk_out: Path) -> list[SynthesizedStack]:
    """Every CloudFormation stack in a cloud assembly, with its region and job fingerprint."""
    manifest_path = cdk_out / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{manifest_path} not found: synthesize first (make synth)", EXIT_CHECK_FAILED) from None
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"{manifest_path}: not a readable cloud assembly ({error})", EXIT_CHECK_FAILED) from None
    stacks = []
    for artifact_id, artifact in sorted((manifest.get("artifacts") or {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        template_path = cdk_out / str(properties.get("templateFile", f"{artifact_id}.template.json"))
        region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
        template = json.loads(template_path.read_text(encoding="utf-8"))
        stacks.append(
            SynthesizedStack(
                name=str(properties.get("stackName") or artifact_id),
                region=region,
                fingerprint=job_fingerprint_of(template)[1],
            )
        )
    if not stacks:
        raise CliError(f"{cdk_out} holds no stacks: synthesize first (make synth)", EXIT_CHECK_FAILED)
    return stacks


def job_fingerprint_of(template: dict[str, Any]) -> tuple[bool, str | None]:
    """(has a job resource, its fingerprint) of a CloudFormation template.

    The fingerprint is computed from the resource's JobSpec by this code's formula, as the
    launcher compares them, so a template written by an older version (another formula, or no
    JobFingerprint property at all) compares by what its job trains; the JobFingerprint property
    is the fallback for a JobSpec that cannot be read.
    """
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") == JOB_RESOURCE_TYPE:
            properties = resource.get("Properties") or {}
            declared = properties.get(JobProperty.FINGERPRINT)
            computed = _fingerprint_of_template_spec(properties.get(JobProperty.SPEC))
            return True, computed or (declared if isinstance(declared, str) else None)
    return False, None


def _fingerprint_of_template_spec(spec: Any) -> str | None:
    """The fingerprint of a JobSpec as a template holds it: JSON text, or an Fn::Join of it and references.

    The job-defining fields are literals (the references are bucket names, ARNs and the like),
    so the references are rendered as a placeholder.
    """
    try:
        if isinstance(spec, dict) and set(spec) == {"Fn::Join"}:
            separator, parts = spec["Fn::Join"]
            spec = separator.join(part if isinstance(part, str) else "DEPLOY-TIME" for part in parts)
        return fingerprint_of_document(json.loads(spec))
    except (KeyError, TypeError, ValueError, AttributeError, JobSpecError):
        return None


def deployed_job(clients: ClientFactory, name: str, region: str) -> DeployedJob:
    import botocore.exceptions

    cloudformation = clients.client("cloudformation", region)
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError" and "does not exist" in str(details.get("Message", "")):
            return DeployedJob(False, False, None, None, None)
        raise
    stack_status = str(stacks[0].get("StackStatus") or "") if stacks else ""
    if stack_status in RECREATED_STACK_STATUSES:
        return DeployedJob(False, False, None, None, None, stack_status)
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    body = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    has_job, fingerprint = job_fingerprint_of(template)
    job_id = _live(clients, region, outputs.get(Output.JOB_ID_PARAMETER_NAME)) or outputs.get(Output.JOB_ID) or None
    status = _live(clients, region, outputs.get(Output.JOB_STATUS_PARAMETER_NAME)) if job_id else None
    return DeployedJob(True, has_job, fingerprint, job_id, status, stack_status)


def _live(clients: ClientFactory, region: str, parameter: str | None) -> str | None:
    import botocore.exceptions

    if not parameter:
        return None
    try:
        value = str(clients.client("ssm", region).get_parameter(Name=parameter)["Parameter"]["Value"]).strip()
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return None if value in UNSET_PARAMETER_VALUES else value


def plan_stack(stack: SynthesizedStack, deployed: DeployedJob) -> StackPlan:
    if stack.fingerprint is None:
        action = STOPS if deployed.has_job_resource else NONE
    elif not deployed.has_job_resource or deployed.fingerprint != stack.fingerprint:
        action = STARTS
    else:
        action = KEEPS
    return StackPlan(stack, deployed, action)
