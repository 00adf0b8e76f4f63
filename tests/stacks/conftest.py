"""Synthesizing the real app (as app.py wires it) for template tests, with bundling skipped."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from stacks.config import build_config
from stacks.rft_stack import RftStack

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]


def synth_stacks(outdir: Path, overrides: dict[str, Any] | None = None, account: str | None = None,
                 nag: bool = True) -> dict[str, RftStack]:
    """The app as app.py builds it. Asset bundling (pip) is skipped: one slow test covers it."""
    context = {**CDK_CONTEXT, **(overrides or {}), "aws:cdk:bundling-stacks": []}
    app = cdk.App(context=context, outdir=str(outdir))
    config = build_config(app.node.try_get_context, account=account)
    stacks = [RftStack(app, stack_config, account=config.account) for stack_config in config.stacks]
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return {stack.stack_name: stack for stack in stacks}


def synth(outdir: Path, overrides: dict[str, Any] | None = None, account: str | None = None,
          nag: bool = True) -> dict[str, Template]:
    return {name: Template.from_stack(stack)
            for name, stack in synth_stacks(outdir, overrides, account, nag).items()}


@functools.lru_cache(maxsize=None)
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
