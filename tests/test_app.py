"""The app as the CDK CLI runs it: `npx cdk ls` passes -c keys exactly as a user types them.

`cdk ls` runs app.py with the CLI's context handling but bundles no asset, so these stay fast.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"

pytestmark = pytest.mark.skipif(not CDK.exists() or not (PROJECT_ROOT / ".venv" / "bin" / "python").exists(),
                                reason="needs `make install` (the pinned CDK CLI and the project venv)")


def cdk_ls(tmp_path: Path, *context: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_CLI_TELEMETRY": "true",
           "AWS_EC2_METADATA_DISABLED": "true"}
    env.pop("CDK_DEFAULT_ACCOUNT", None)
    arguments = [str(CDK), "ls", "--no-notices", "--output", str(tmp_path / "cdk.out")]
    for item in context:
        arguments += ["-c", item]
    return subprocess.run(arguments, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_a_mistyped_key_stops_synth_before_anything_is_built(tmp_path: Path) -> None:
    result = cdk_ls(tmp_path, "rft:launchjob=false")
    assert result.returncode != 0
    assert "rft:launchjob: unknown context key; did you mean rft:launchJob?" in result.stderr
    assert "Nothing was synthesized." in result.stderr and "Traceback" not in result.stderr


def test_a_c_object_merges_and_synth_prints_one_line_per_stack(tmp_path: Path) -> None:
    result = cdk_ls(tmp_path, 'rft:nova={"createModelDeployment": true}', "rft:mantle.hyperParameters.n_epochs=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"]
    lines = [line for line in result.stderr.splitlines() if line.startswith("BedrockRft-")]
    assert len(lines) == 2, result.stderr
    nova, gpt = lines
    # cdk.json's hyperparameters survive the -c object.
    assert nova.startswith("BedrockRft-Nova2Lite (us-east-1): job on, fingerprint ")
    assert nova.endswith("; base model amazon.nova-2-lite-v1:0:256k; hyperparameters epochCount=10 "
                         "trainingSamplePerPrompt=8")
    assert gpt.endswith("; base model openai.gpt-oss-20b; hyperparameters n_epochs=2")
    off = cdk_ls(tmp_path, "rft:launchJob=false")
    assert "BedrockRft-Nova2Lite (us-east-1): job off (rft:launchJob false)" in off.stderr

