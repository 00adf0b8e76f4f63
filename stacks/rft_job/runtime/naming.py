"""Names, tokens and ids derived from a launch: deterministic, so a retried request finds its own work.

Shared by the launcher, the tracker and rftctl. Every name fits the strictest pattern of the
APIs that take it (Nova job and model names, Step Functions execution names, deployment names).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote


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


def deployment_description(job_name: str) -> str:
    """One description for the on-demand deployment, whoever creates it (tracker or operator):
    the create call is idempotent only when every parameter matches."""
    return f"On-demand inference for the model trained by RFT job {job_name}"


def console_url(region: str) -> str:
    """The Bedrock console's custom models page (its Jobs tab lists training jobs by name).

    AWS documents no stable deep link to a single customization job, so the list page is the
    link that keeps working; the job is found there by its JobName.
    """
    return f"https://{region}.console.aws.amazon.com/bedrock/home?region={quote(region)}#/custom-models"
