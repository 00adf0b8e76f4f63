# One-command set-up: `make synth` and `make test` work on a fresh machine with Python 3.11+
# and Node 20+; everything else (venv, pinned packages, pinned CDK CLI) is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

export PATH := $(BIN):$(PATH)
# jsii warns on every import under Node 20 (end of life); the warning is harmless here.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No AWS account is needed to synthesize: don't probe instance metadata or phone home.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true
CDK := npx --no-install cdk

.PHONY: help install synth test lint lint-templates deploy diff destroy bench datasets clean

help:
	@echo "make synth   - install everything, synthesize every stack into cdk.out/ (no AWS account needed)"
	@echo "make test    - the whole test suite"
	@echo "make lint    - ruff (lint, import order) on everything, mypy --strict on the Lambda runtimes"
	@echo "make deploy  - deploy every stack (needs AWS credentials; bootstrap us-east-1 and us-west-2 first);"
	@echo "               asks before starting or stopping a paid RFT job (YES=1 to answer yes)"
	@echo "make diff    - what a deploy would change"
	@echo "make bench   - benchmarks: the grader, the tasks, CLI start-up"
	@echo "make datasets - regenerate the tasks' example datasets (scripts/datasets/)"

LAMBDA_PINS := lambda_reward/runtime/requirements.txt stacks/rft_job/runtime/requirements.txt

# One resolve of every pin: the app (requirements.txt, via the project), the CLI and the test tools
# (pyproject.toml's extras) and exactly what each Lambda ships. The project is installed editable,
# so its packages import from anywhere and the console command is .venv/bin/rftctl.
$(VENV)/.installed: pyproject.toml requirements.txt $(LAMBDA_PINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(addprefix -r ,$(LAMBDA_PINS)) -e '.[cli,test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed

# The fast path (development, CI) skips aws-cdk-lib's built-in template validation, whose rule
# engine takes seconds to start; cfn-lint, cdk-nag and tests/stacks/test_builtin_validator.py check
# the same templates. The synth that make deploy ships runs it (SYNTH_VALIDATION below).
SYNTH_VALIDATION ?= --no-validation
# Extra CDK arguments, e.g. SYNTH_ARGS="-c rft:task=math-answer" (make deploy passes them on too).
SYNTH_ARGS ?=
synth: install
	$(CDK) synth --quiet --no-notices $(SYNTH_VALIDATION) $(SYNTH_ARGS)
	@echo "Templates written to cdk.out/: $$(cd cdk.out && ls *.template.json | tr '\n' ' ')"

test: install
	$(BIN)/python -m pytest

# Settings in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: install
	$(BIN)/ruff check
	$(BIN)/mypy

lint-templates: synth
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json

# Deploys exactly the assembly `rftctl plan` checked; plan asks before a deploy that starts or
# stops a paid RFT job (YES=1 answers yes, for scripts; YES=0 or no YES asks).
deploy: SYNTH_VALIDATION =
deploy: synth
	$(BIN)/rftctl plan --confirm $(if $(filter 1 yes true,$(YES)),--yes,)
	$(CDK) deploy --all --app cdk.out --no-notices

diff: install
	$(CDK) diff --all --no-notices

destroy: install
	$(CDK) destroy --all --no-notices

bench: install
	$(BIN)/python scripts/bench_reward.py
	$(BIN)/python scripts/bench_tasks.py
	$(BIN)/python scripts/bench_code_tests.py
	$(BIN)/python scripts/bench_llm_judge.py
	$(BIN)/python scripts/bench_cli_startup.py

datasets: install
	$(BIN)/python scripts/make_datasets.py

clean:
	rm -rf cdk.out .pytest_cache .hypothesis
