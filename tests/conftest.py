"""Shared test set-up: no AWS account, no Docker, quiet jsii, and the app synthesized as app.py wires it."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# Every synth of the tests (the helpers below, the other modules' apps, the `cdk ls` runs) skips
# aws-cdk-lib's built-in CloudFormation template validation: its WASM rule engine takes 1.5-4 s to
# start in each Node process, and cfn-lint and cdk-nag check the same templates here.
# tests/stacks/test_builtin_validator.py is the one synth with it on. Node reads this when it starts.
os.environ.setdefault("CDK_VALIDATION", "false")

# jsii must see the variables above before aws_cdk is imported.
from aws_cdk.assertions import Template  # noqa: E402

from app import build_app  # noqa: E402
from stacks.rft_stack import RftStack  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Imported only when installed, with a fallback: botocore.httpsession takes certifi's CA bundle if it can
# import it and its own otherwise. The test tools install it (moto needs requests); neither synth nor a
# Lambda needs it, so the import checks leave it out.
OPTIONAL_WHEN_INSTALLED = frozenset({"certifi"})


def load_script(path: Path, name: str) -> ModuleType:
    """A script of scripts/ as a module (they are run, not installed): the benchmarks, make_datasets."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve a module's annotations through it
    spec.loader.exec_module(module)
    return module


def dataset_generator(task: str) -> ModuleType:
    """The generator of a task's example dataset, found and loaded as scripts/make_datasets.py does."""
    make_datasets = load_script(PROJECT_ROOT / "scripts" / "make_datasets.py", "rft_make_datasets")
    return make_datasets.load_generator(make_datasets.generators()[task])
CDK_CONTEXT: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]


# Anything that could point a client at a real account, profile, endpoint or stored key.
AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_BEDROCK_BASE_URL", "MANTLE_BASE_URL",
    "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "OPENAI_API_KEY", "OPENAI_BASE_URL",
)


def isolate_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, access_key: str, secret_key: str,
                    session_token: str, region: str = "us-east-1") -> None:
    """Fake static credentials and nothing else: no profile, no config file, no metadata service.

    Requests are signed (so signatures can be verified) but every AWS call must be stubbed.
    """
    for name in AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# ---- the synthesized app (template tests of stacks/ and stacks/rft_job/) ----

def synth_stacks(outdir: Path, overrides: dict[str, Any] | None = None, account: str | None = None,
                 nag: bool = True) -> dict[str, RftStack]:
    """The app as app.py builds it. Asset bundling (pip) is skipped: one slow test covers it."""
    context = {**CDK_CONTEXT, **(overrides or {}), "aws:cdk:bundling-stacks": []}
    app, stacks = build_app(context, outdir=str(outdir), account=account, nag=nag)
    app.synth()
    return {stack.stack_name: stack for stack in stacks}


def synth(outdir: Path, overrides: dict[str, Any] | None = None, account: str | None = None,
          nag: bool = True) -> dict[str, Template]:
    return {name: Template.from_stack(stack)
            for name, stack in synth_stacks(outdir, overrides, account, nag).items()}


@functools.cache
def _default_synth(outdir: str) -> dict[str, Template]:
    return synth(Path(outdir))


@pytest.fixture(scope="session")
def default_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session")
def templates(default_outdir: Path) -> dict[str, Template]:
    """Every stack of the default configuration (cdk.json), synthesized once per session."""
    return _default_synth(str(default_outdir))


@pytest.fixture(scope="session")
def nova(templates: dict[str, Template]) -> Template:
    return templates["BedrockRft-Nova2Lite"]


@pytest.fixture(scope="session")
def mantle(templates: dict[str, Template]) -> Template:
    return templates["BedrockRft-GptOss20b"]


def role_statements(template: Template, role_id: str) -> dict[str, dict[str, Any]]:
    """The statements of every IAM policy attached to a role, by Sid (or position and action)."""
    found: dict[str, dict[str, Any]] = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for i, statement in enumerate(policy["Properties"]["PolicyDocument"]["Statement"]):
                found[statement.get("Sid", f"#{i}:{statement['Action']}")] = statement
    return found

