"""The job API interface: every variant has an adapter, and the registry tells whose a job id is."""

from __future__ import annotations

import inspect

import pytest

from stacks.rft_job.runtime.contract import Variant
from stacks.rft_job.runtime.job_api import (
    ADAPTERS,
    JobApi,
    api_class,
    is_job_id,
    variant_of_job_id,
)
from tests.stacks.rft_job.builders import NOVA_JOB_ARN, PLACEHOLDER_PHYSICAL_ID

MANTLE_JOB_ID = "ftjob-abc123"
# Bedrock documents no mantle id format: ids of other shapes, even ARN-like ones, are mantle's
# (rejecting one would relaunch on every update and skip the cancel on delete).
MANTLE_ODD_IDS = ("arn:aws:bedrock:us-west-2:123456789012:fine-tuning-job/ftjob-abc",
                  "arn:aws:bedrock-mantle:us-west-2:123456789012:fine-tuning-job/abc123", "arn:aws-us-gov:bedrock:x")


@pytest.mark.parametrize("variant", list(Variant))
def test_every_variant_has_a_complete_adapter(variant: Variant) -> None:
    adapter = api_class(variant)
    assert issubclass(adapter, JobApi) and adapter.variant is variant
    assert not inspect.isabstract(adapter), f"{adapter.__name__} leaves part of JobApi unimplemented"
    statuses = adapter.statuses
    assert statuses.succeeded in statuses.terminal and statuses.stopped in statuses.terminal
    assert not statuses.running & statuses.terminal and not statuses.stopping & statuses.terminal
    assert adapter.stopped_word and adapter.model_usage


def test_the_registry_holds_exactly_the_variants() -> None:
    assert set(ADAPTERS) == set(Variant)


@pytest.mark.parametrize(
    ("value", "declared", "expected"),
    [
        (NOVA_JOB_ARN, Variant.NOVA, Variant.NOVA),
        (NOVA_JOB_ARN, None, Variant.NOVA),
        # A Nova ARN is unmistakable, whatever the spec says.
        (NOVA_JOB_ARN, Variant.MANTLE, Variant.NOVA),
        (MANTLE_JOB_ID, Variant.MANTLE, Variant.MANTLE),
        (MANTLE_JOB_ID, None, Variant.MANTLE),
        # A mantle-shaped id under a Nova spec is nobody's job: Delete stops nothing.
        (MANTLE_JOB_ID, Variant.NOVA, None),
        (PLACEHOLDER_PHYSICAL_ID, None, None),
        (PLACEHOLDER_PHYSICAL_ID, Variant.MANTLE, None),
        ("NONE", Variant.MANTLE, None),
        ("", None, None),
        (None, Variant.NOVA, None),
    ],
)
def test_whose_job_an_id_is(value: str | None, declared: Variant | None, expected: Variant | None) -> None:
    assert variant_of_job_id(value, declared) is expected


def test_job_ids_by_variant() -> None:
    assert is_job_id(Variant.NOVA, NOVA_JOB_ARN) and not is_job_id(Variant.NOVA, MANTLE_JOB_ID)
    # A Nova job ARN is unmistakably Nova's: never a mantle job, though it fits mantle's loose shape.
    assert is_job_id("mantle", MANTLE_JOB_ID) and not is_job_id("mantle", NOVA_JOB_ARN)


@pytest.mark.parametrize("value", MANTLE_ODD_IDS)
def test_mantle_ids_of_other_shapes_stay_mantle_jobs(value: str) -> None:
    assert is_job_id(Variant.MANTLE, value) and not is_job_id(Variant.NOVA, value)
    assert variant_of_job_id(value, Variant.MANTLE) is Variant.MANTLE
    assert variant_of_job_id(value, None) is Variant.MANTLE


@pytest.mark.parametrize("variant", list(Variant))
def test_the_stack_and_the_runtime_agree_on_what_each_api_needs(variant: Variant) -> None:
    """The construct side (grants, the deployment parameter) and the adapter describe one API."""
    from stacks.rft_job.api_access import JOB_API_ACCESS

    access, adapter = JOB_API_ACCESS[variant], api_class(variant)
    assert access.variant is variant
    assert access.deploys_models == adapter.deploys_models


@pytest.mark.parametrize(("field", "value", "message"), [
    ("graderPinned", False, "JobSpec.graderPinned must be true for variant nova"),
    ("roleArn", None, "JobSpec.roleArn is required for variant nova"),
    ("outputDataUri", None, "JobSpec.outputDataUri is required for variant nova"),
])
def test_nova_checks_what_only_it_needs(field: str, value: object, message: str) -> None:
    from stacks.rft_job.runtime.job_spec import JobSpecError, parse_job_spec
    from tests.stacks.rft_job.builders import mantle_spec, nova_spec

    spec = nova_spec(**{field: value})
    if field == "graderPinned":
        spec["graderArn"] = spec["graderArn"].rsplit(":", 1)[0]  # the unqualified ARN an unpinned spec carries
    parsed = parse_job_spec(spec)  # the common fields are fine
    with pytest.raises(JobSpecError, match=message):
        api_class(Variant.NOVA).check_spec(parsed)
    api_class(Variant.MANTLE).check_spec(parse_job_spec(mantle_spec()))  # mantle needs neither
