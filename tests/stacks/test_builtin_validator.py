"""The one synth with aws-cdk-lib's built-in template validation on.

aws-cdk-lib (2.262 and later) checks every synthesized template with its CloudFormationValidatePlugin
("CloudFormation Validate": resource schemas, cfn-lint's rules and CDK's own Rego rules, run by
the bundled @aws/cloudformation-validate WASM engine). The feature flag
`@aws-cdk/core:validateAgainstDefaultRules` (true in cdk.json) makes its findings errors that fail
the synth. Starting the engine costs seconds in every Node process, so the rest of the suite runs
with CDK_VALIDATION=false (tests/conftest.py); this test runs the app as the CDK CLI does, with
the validator on, and requires that it validated every template and found nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CDK_CONTEXT, PROJECT_ROOT

VALIDATOR = "CloudFormation Validate"  # aws_cdk.CloudFormationValidatePlugin.PLUGIN_NAME


def test_the_app_synthesizes_with_the_builtin_validator_on_and_nothing_found(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    perf = tmp_path / "perf-counters.json"
    context = {**CDK_CONTEXT,
               # Templates only: the assets' bundling (pip) is covered by test_lambda_assets.
               "aws:cdk:bundling-stacks": [],
               # aws-cdk-lib writes its timing counters (CDK_PERF_COUNTERS_FILE) for any synth this slow.
               "@aws-cdk/core.slowSynthThreshold": 0}
    env = {name: value for name, value in os.environ.items() if name not in ("CDK_VALIDATION", "CDK_DEFAULT_ACCOUNT")}
    env.update(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(context), CDK_PERF_COUNTERS_FILE=str(perf))
    # app.py's own entry point, as `cdk synth` starts it (the CLI passes cdk.json's context the same way).
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    # A finding of the validator (an error, by the feature flag) fails the synth with the report.
    assert result.returncode == 0, result.stderr[-6000:]
    templates = sorted(outdir.glob("*.template.json"))
    assert templates, f"no template in {outdir}"
    # The validator really ran, once per template (so this test cannot pass with it switched off).
    counters = json.loads(perf.read_text())["counters"]
    assert counters.get("CloudFormationValidate.validate(cnt)") == len(templates), counters
    report = json.loads((outdir / "validation-report.json").read_text())
    findings = [violation for plugin in report["pluginReports"] if plugin["pluginName"] == VALIDATOR
                for violation in plugin.get("violations", [])]
    assert not findings, json.dumps(findings, indent=1)[:6000]
