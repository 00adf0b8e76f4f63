"""rftctl plan: the synthesized assembly (the real one) against stubbed deployed stacks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rftctl.deployment_plan import job_fingerprint_of
from tests.scripts.fakes import (
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_JOB_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_parameter,
    mantle_outputs,
    nova_outputs,
    stack_description,
)

REGIONS = {NOVA_STACK: NOVA_REGION, MANTLE_STACK: MANTLE_REGION}
JOBS = {NOVA_STACK: NOVA_JOB_ARN, MANTLE_STACK: MANTLE_JOB_ID}


@pytest.fixture
def assembly(templates, default_outdir: Path) -> Path:
    """The app synthesized as cdk.json configures it (the session's shared synth)."""
    return default_outdir


def synthesized(assembly: Path, stack: str) -> dict[str, Any]:
    return json.loads((assembly / f"{stack}.template.json").read_text())


def fingerprint(assembly: Path, stack: str) -> str:
    has_job, value = job_fingerprint_of(synthesized(assembly, stack))
    assert has_job and value
    return value


def not_deployed(aws, stack: str) -> None:
    aws.stub("cloudformation", REGIONS[stack]).add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {stack} does not exist", 400,
        expected_params={"StackName": stack})


def deployed(aws, stack: str, template: dict[str, Any], *, status: str | None = "InProgress") -> None:
    region = REGIONS[stack]
    outputs = nova_outputs() if stack == NOVA_STACK else mantle_outputs()
    cloudformation = aws.stub("cloudformation", region)
    cloudformation.add_response("describe_stacks", {"Stacks": [stack_description(
        stack, "nova" if stack == NOVA_STACK else "mantle", outputs, region)]}, {"StackName": stack})
    cloudformation.add_response("get_template", {"TemplateBody": json.dumps(template)},
                                {"StackName": stack, "TemplateStage": "Original"})
    if template_has_job(template):
        expect_parameter(aws, region, outputs["JobIdParameterName"], JOBS[stack])
        expect_parameter(aws, region, outputs["JobStatusParameterName"], status or "NOT_STARTED")


def template_has_job(template: dict[str, Any]) -> bool:
    return job_fingerprint_of(template)[0]


def with_fingerprint(template: dict[str, Any], value: str | None) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "Custom::BedrockRftJob":
            if value is None:
                del resource["Properties"]["JobFingerprint"]
            else:
                resource["Properties"]["JobFingerprint"] = value
    return changed


def with_epochs(template: dict[str, Any], epochs: int) -> dict[str, Any]:
    """The template as deployed with another epoch count: another job."""
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "Custom::BedrockRftJob":
            parts = resource["Properties"]["JobSpec"]["Fn::Join"][1]
            parts[:] = [p.replace('"epochCount":10', f'"epochCount":{epochs}') if isinstance(p, str) else p
                        for p in parts]
    assert job_fingerprint_of(changed) != job_fingerprint_of(template)
    return changed


def deployed_fingerprint(assembly: Path) -> str:
    value = job_fingerprint_of(with_epochs(synthesized(assembly, NOVA_STACK), 3))[1]
    assert value
    return value


def without_job(template: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    changed["Resources"] = {k: v for k, v in changed["Resources"].items() if v["Type"] != "Custom::BedrockRftJob"}
    return changed


def never_asked(question: str) -> str | None:
    raise AssertionError(f"asked although nothing paid changes: {question}")


def test_a_first_deploy_starts_a_paid_job_per_stack_and_needs_a_yes(rftctl, aws, assembly: Path) -> None:
    not_deployed(aws, NOVA_STACK)
    not_deployed(aws, MANTLE_STACK)
    result = rftctl("plan", "--cdk-out", str(assembly), "--confirm", ask=lambda question: None)
    assert result.code == 1
    assert result.out.splitlines() == [
        f"{MANTLE_STACK} (us-west-2): starts a new paid job (fingerprint {fingerprint(assembly, MANTLE_STACK)[:12]}; "
        "new stack)",
        f"{NOVA_STACK} (us-east-1): starts a new paid job (fingerprint {fingerprint(assembly, NOVA_STACK)[:12]}; "
        "new stack)",
    ]
    # Nobody at a terminal to say yes: no deploy.
    assert "not deploying: this deploy would start 2 new paid jobs. Rerun with --yes (make deploy YES=1)" in result.err


def test_yes_answers_the_question(rftctl, aws, assembly: Path) -> None:
    not_deployed(aws, NOVA_STACK)
    not_deployed(aws, MANTLE_STACK)
    assert rftctl("plan", "--cdk-out", str(assembly), "--confirm", "--yes", ask=never_asked).code == 0


def test_an_unchanged_fingerprint_keeps_the_running_job_without_asking(rftctl, aws, assembly: Path) -> None:
    for stack in (MANTLE_STACK, NOVA_STACK):
        deployed(aws, stack, synthesized(assembly, stack))
    result = rftctl("plan", "--cdk-out", str(assembly), "--confirm", ask=never_asked)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"{MANTLE_STACK} (us-west-2): keeps job {MANTLE_JOB_ID}, InProgress "
        f"(fingerprint {fingerprint(assembly, MANTLE_STACK)[:12]})",
        f"{NOVA_STACK} (us-east-1): keeps job {NOVA_JOB_ARN}, InProgress "
        f"(fingerprint {fingerprint(assembly, NOVA_STACK)[:12]})",
    ]


@pytest.mark.parametrize("answer,code", [("yes", 0), ("YES ", 0), ("no", 1), ("", 1), ("y", 1)])
def test_a_new_fingerprint_starts_a_job_and_stops_the_running_one(rftctl, aws, assembly: Path, answer: str,
                                                                  code: int) -> None:
    asked: list[str] = []
    deployed(aws, NOVA_STACK, with_epochs(synthesized(assembly, NOVA_STACK), 3))
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", NOVA_STACK, "--confirm",
                    ask=lambda question: asked.append(question) or answer)
    assert result.code == code
    assert result.out.splitlines() == [
        f"{NOVA_STACK} (us-east-1): starts a new paid job (stops job {NOVA_JOB_ARN}, InProgress; fingerprint "
        f"{fingerprint(assembly, NOVA_STACK)[:12]}, was {deployed_fingerprint(assembly)[:12]})"]
    assert asked == ["This deploy will start 1 new paid job and stop 1 running job. Type 'yes' to go on: "]


def test_a_job_that_already_ended_is_replaced_not_stopped(rftctl, aws, assembly: Path) -> None:
    deployed(aws, NOVA_STACK, with_epochs(synthesized(assembly, NOVA_STACK), 3), status="Completed")
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", NOVA_STACK, "--confirm", ask=lambda q: "yes")
    assert result.out.strip().endswith(f"starts a new paid job (replaces job {NOVA_JOB_ARN}, Completed; fingerprint "
                                       f"{fingerprint(assembly, NOVA_STACK)[:12]}, was "
                                       f"{deployed_fingerprint(assembly)[:12]})")


def test_turning_launch_job_off_stops_the_running_job(rftctl, aws, assembly: Path, tmp_path: Path) -> None:
    # The assembly as `-c rft:launchJob=false` writes it: no job resource.
    off = tmp_path / "cdk.out"
    off.mkdir()
    (off / "manifest.json").write_text((assembly / "manifest.json").read_text())
    for stack in (NOVA_STACK, MANTLE_STACK):
        (off / f"{stack}.template.json").write_text(json.dumps(without_job(synthesized(assembly, stack))))
    deployed(aws, NOVA_STACK, synthesized(assembly, NOVA_STACK))
    result = rftctl("plan", "--cdk-out", str(off), "--stack", NOVA_STACK, "--confirm", ask=lambda q: None)
    assert result.code == 1
    assert result.out.splitlines() == [f"{NOVA_STACK} (us-east-1): no job (rft:launchJob false): stops job "
                                       f"{NOVA_JOB_ARN}, InProgress"]


def test_a_deployed_template_from_an_older_version_compares_by_what_its_job_trains(
    rftctl, aws, assembly: Path
) -> None:
    """No JobFingerprint property, or one by another formula: the JobSpec decides, as in the launcher."""
    deployed(aws, MANTLE_STACK, with_fingerprint(synthesized(assembly, MANTLE_STACK), None))
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", MANTLE_STACK, "--confirm", ask=never_asked)
    assert result.code == 0 and "keeps job" in result.out


def test_a_deployed_job_resource_that_cannot_be_read_counts_as_a_new_job(rftctl, aws, assembly: Path) -> None:
    unreadable = with_fingerprint(synthesized(assembly, MANTLE_STACK), None)
    for resource in unreadable["Resources"].values():
        if resource["Type"] == "Custom::BedrockRftJob":
            resource["Properties"]["JobSpec"] = "{not json"
    deployed(aws, MANTLE_STACK, unreadable)
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", MANTLE_STACK)
    assert result.code == 0  # without --confirm, plan only reports
    assert "starts a new paid job" in result.out and "no JobFingerprint to compare" in result.out


def test_an_assembly_is_required(rftctl, tmp_path: Path) -> None:
    result = rftctl("plan", "--cdk-out", str(tmp_path / "missing"))
    assert result.code == 1 and "manifest.json not found: synthesize first (make synth)" in result.err


def test_a_stack_that_failed_its_first_create_is_recreated_with_a_new_job(rftctl, aws, assembly: Path) -> None:
    """ROLLBACK_COMPLETE keeps its template (with the same fingerprint), but cdk deploy recreates it."""
    description = stack_description(NOVA_STACK, "nova", nova_outputs(), NOVA_REGION)
    aws.stub("cloudformation", NOVA_REGION).add_response(
        "describe_stacks", {"Stacks": [{**description, "StackStatus": "ROLLBACK_COMPLETE"}]}, {"StackName": NOVA_STACK})
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", NOVA_STACK, "--confirm", ask=lambda q: None)
    assert result.code == 1
    assert result.out.strip().endswith("the stack is ROLLBACK_COMPLETE, so the deploy creates it anew)")


def test_a_stack_name_not_in_the_assembly_is_an_error(rftctl, assembly: Path) -> None:
    result = rftctl("plan", "--cdk-out", str(assembly), "--stack", "BedrockRft-Typo")
    assert result.code == 1
    assert "has no stack BedrockRft-Typo; it has BedrockRft-GptOss20b, BedrockRft-Nova2Lite" in result.err


def declared_fingerprint(template: dict[str, Any]) -> str:
    (job,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockRftJob"]
    return job["Properties"]["JobFingerprint"]


@pytest.mark.parametrize("stack", [NOVA_STACK, MANTLE_STACK])
def test_plan_reads_the_same_fingerprint_as_the_template_declares(assembly: Path, stack: str) -> None:
    template = synthesized(assembly, stack)
    assert fingerprint(assembly, stack) == declared_fingerprint(template)


def test_a_change_of_the_graders_task_options_alone_is_a_new_job_to_plan(assembly: Path) -> None:
    template = synthesized(assembly, NOVA_STACK)
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "Custom::BedrockRftJob":
            parts = resource["Properties"]["JobSpec"]["Fn::Join"][1]
            parts[:] = [p.replace('"minShare":0,', '"minShare":0.5,') if isinstance(p, str) else p for p in parts]
    assert json.dumps(changed) != json.dumps(template)
    assert job_fingerprint_of(changed)[1] != job_fingerprint_of(template)[1]
