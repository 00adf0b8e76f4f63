"""Every synthesized state machine definition, checked by asl-validator (npm, pinned in package.json).

cfn-lint validates a state machine's definition only when the template holds it as JSON; CDK writes
it as a Fn::Join string (the tokens: ARNs, the partition), which cfn-lint leaves alone. With the
tokens resolved to plausible ARNs the definition is plain JSON, and asl-validator checks it against
the Amazon States Language: the states' fields (JSON schema), transitions to missing states, path
and intrinsic syntax, Resource ARNs.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cfnlint.api import lint_all

from stacks.models import RFT_MODELS
from tests.conftest import PROJECT_ROOT
from tests.stacks.rft_job import moto_asl

VALIDATOR = PROJECT_ROOT / "node_modules" / "asl-validator"
# One Node process for any number of definitions: {name: definition} on stdin, {name: errors} out.
VALIDATE_ALL = """
const validate = require("asl-validator");
const definitions = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = {};
for (const [name, definition] of Object.entries(definitions)) {
  const { isValid, errors } = validate(definition);
  results[name] = isValid ? [] : errors.map((e) => `${e["Error code"]}: ${e.Message}`);
}
process.stdout.write(JSON.stringify(results));
"""
STACK_REGIONS = {model.stack_name: model.region for model in RFT_MODELS}
WAIT = '"Wait before next poll":{"Type":"Wait","Seconds":300,"Next":"Poll job"}'
# aws-cdk-lib writes DependsOn next to the GetAtt that already implies it (as tests/stacks/test_validators.py).
IGNORED_CFN_LINT_RULES = {"W3005"}


def asl_errors(definitions: dict[str, Any]) -> dict[str, list[str]]:
    """asl-validator's findings for each definition (empty: valid)."""
    if not (VALIDATOR / "package.json").is_file():
        pytest.fail(f"{VALIDATOR} is missing: run `make install` (npm ci installs package.json's devDependencies)")
    done = subprocess.run(["node", "-e", VALIDATE_ALL], input=json.dumps(definitions), capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    results: dict[str, list[str]] = json.loads(done.stdout)
    return results


def plausible_names(template: dict[str, Any], stack_name: str) -> dict[str, str]:
    """A value for every Ref and Arn of the template: ARNs of the resource's own type."""
    region = STACK_REGIONS[stack_name]
    names = moto_asl.pseudo_parameters(region, stack_name)
    for logical_id, resource in template["Resources"].items():
        service = resource["Type"].split("::")[1].lower()
        if resource["Type"] == "AWS::Lambda::Function":
            names[logical_id] = logical_id
            names[f"{logical_id}.Arn"] = f"arn:aws:lambda:{region}:{moto_asl.ACCOUNT_ID}:function:{logical_id}"
        elif resource["Type"] == "AWS::SNS::Topic":
            names[logical_id] = f"arn:aws:sns:{region}:{moto_asl.ACCOUNT_ID}:{logical_id}"
        else:
            names[logical_id] = logical_id
            names[f"{logical_id}.Arn"] = f"arn:aws:{service}:{region}:{moto_asl.ACCOUNT_ID}:{logical_id}"
    return names


def definitions_of(templates: dict[str, Template]) -> dict[str, Any]:
    return {f"{stack_name}/{logical_id}": definition
            for stack_name, template in templates.items()
            for logical_id, definition in moto_asl.state_machine_definitions(
                template.to_json(), plausible_names(template.to_json(), stack_name)).items()}


def test_every_synthesized_state_machine_is_valid_asl(templates) -> None:
    definitions = definitions_of(templates)
    assert {name.split("/")[0] for name in definitions} == set(templates)  # each stack has its tracker
    assert asl_errors(definitions) == {name: [] for name in definitions}


@pytest.mark.slow  # cfn-lint on a whole template: about 1.5 s
def test_a_broken_wait_that_cfn_lint_lets_through_is_caught(templates) -> None:
    """The same mistakes in the template's Fn::Join pass cfn-lint, and asl-validator rejects each."""
    template = templates["BedrockRft-Nova2Lite"].to_json()
    (machine_id, machine), = moto_asl.resources_of_type(template, "AWS::StepFunctions::StateMachine").items()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    wait_parts = [i for i, part in enumerate(parts) if isinstance(part, str) and WAIT in part]
    assert len(wait_parts) == 1, f"the definition has no {WAIT} to break"
    wait_part = wait_parts[0]
    broken_waits = {
        "seconds as text": WAIT.replace('"Seconds":300', '"Seconds":"five"'),
        "seconds and a timestamp": WAIT.replace('"Seconds":300', '"Seconds":300,"Timestamp":"2026-01-01T00:00:00Z"'),
        "next state missing": WAIT.replace('"Next":"Poll job"', '"Next":"Poll jobs"'),
    }

    def with_wait(wait: str) -> dict[str, Any]:
        broken = json.loads(json.dumps(template))
        broken_parts = broken["Resources"][machine_id]["Properties"]["DefinitionString"]["Fn::Join"][1]
        broken_parts[wait_part] = broken_parts[wait_part].replace(WAIT, wait)
        return broken

    names = plausible_names(template, "BedrockRft-Nova2Lite")
    errors = asl_errors({problem: moto_asl.state_machine_definitions(with_wait(wait), names)[machine_id]
                         for problem, wait in broken_waits.items()})
    assert [error.split(":")[0] for error in errors["seconds as text"]] == ["SCHEMA_VALIDATION_FAILED"]
    assert "/States/Wait before next poll/Seconds" in errors["seconds as text"][0]
    assert errors["seconds and a timestamp"] == [
        'WAIT_DURATION: State "Wait before next poll" MUST contain exactly one of "Seconds", "SecondsPath", '
        '"Timestamp", "TimestampPath"']
    assert errors["next state missing"] == ["MISSING_TRANSITION_TARGET: Missing 'StartAt'|'Next'|'Default' target: "
                                            "Poll jobs"]

    broken = with_wait(broken_waits["seconds as text"])
    assert not [str(m) for m in lint_all(json.dumps(broken))
                if m.rule.id[0] in "EW" and m.rule.id not in IGNORED_CFN_LINT_RULES]
    # ...because of the Fn::Join: the same definition as JSON in the template is one cfn-lint checks.
    definition = moto_asl.state_machine_definitions(broken, names)[machine_id]
    plain = {"Resources": {machine_id: {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "RoleArn": f"arn:aws:iam::{moto_asl.ACCOUNT_ID}:role/tracker", "Definition": definition}}}}
    assert "E3601" in {m.rule.id for m in lint_all(json.dumps(plain))}
