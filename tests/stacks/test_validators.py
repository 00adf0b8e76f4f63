"""The real validators over the synthesized app: cdk-nag (AwsSolutions) and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import lint_all

from app import build_app
from tests.conftest import CDK_CONTEXT

# aws-cdk-lib writes DependsOn next to the GetAtt that already implies it; harmless.
IGNORED_CFN_LINT_RULES = {"W3005"}


def test_cdk_nag_finds_nothing_unacknowledged(templates, default_outdir: Path) -> None:
    # `templates` synthesized the app with AwsSolutionsChecks; an unacknowledged finding fails the synth.
    assert set(templates) == {"BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"}
    report = json.loads((default_outdir / "validation-report.json").read_text())
    # A passing plugin leaves no report entry; a failing one lists its violations.
    assert not [r for r in report["pluginReports"] if r["conclusion"] != "success" or r.get("violations")]


def test_cdk_nag_would_catch_a_finding(tmp_path: Path) -> None:
    """The check above can fail: an unencrypted, unlogged bucket next to the stack is reported."""
    app, stacks = build_app({**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    s3.Bucket(stacks[0], "Careless")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-S1" in report and "Careless" in report
    assert "TrainingData/Bucket" not in report


def test_cfn_lint_passes_every_template(templates, default_outdir: Path) -> None:
    template_files = sorted(default_outdir.glob("*.template.json"))
    assert len(template_files) == len(templates)
    for path in template_files:
        matches = [m for m in lint_all(path.read_text())
                   if m.rule.id[0] in "EW" and m.rule.id not in IGNORED_CFN_LINT_RULES]
        assert not matches, f"{path.name}:\n" + "\n".join(str(m) for m in matches)


def test_cfn_lint_would_catch_an_error(default_outdir: Path) -> None:
    text = next(default_outdir.glob("*.template.json")).read_text().replace('"python3.13"', '"python2.9"', 1)
    assert any(m.rule.id.startswith("E") for m in lint_all(text))
