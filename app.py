#!/usr/bin/env python3
"""CDK app: builds the validated configuration and one stack per RFT variant. Wiring only."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.config import ConfigError, build_config, load_project_context
from stacks.rft_stack import RftStack


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None,
              account: str | None = None, nag: bool = True) -> tuple[cdk.App, list[RftStack]]:
    """The app with every configured stack. `context` replaces what the CDK CLI would pass (tests)."""
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    config = build_config(app.node.get_all_context(), account=account, project_context=load_project_context())
    stacks = [RftStack(app, stack_config, account=config.account) for stack_config in config.stacks]
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stacks


def main() -> None:
    try:
        app, stacks = build_app(account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    except ConfigError as error:
        # The problems are the whole story; a traceback would only bury them.
        sys.exit(f"{error}\nNothing was synthesized.")
    # What each stack would run, before anything is deployed (stderr: stdout is the CLI's).
    for stack in stacks:
        print(stack.summary_line(), file=sys.stderr)
    app.synth()


if __name__ == "__main__":
    main()
