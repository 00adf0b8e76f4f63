#!/usr/bin/env python3
"""CDK app: builds the validated configuration and one stack per RFT variant. Wiring only."""

import os

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.config import build_config
from stacks.rft_stack import RftStack

app = cdk.App()
config = build_config(app.node.try_get_context, account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
for stack_config in config.stacks:
    RftStack(app, stack_config, account=config.account)
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
