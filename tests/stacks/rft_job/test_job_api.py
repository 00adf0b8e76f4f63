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
    assert is_job_id("mantle", MANTLE_JOB_ID) and not is_job_id("mantle", NOVA_JOB_ARN)
