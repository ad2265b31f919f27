# The two README commands: `make demo` and `make test`. Everything else is a step of those, or of a
# deployment (docs/deploy.md): `make package`, `make size-budget`, `make deploy` (STAGE=dev|prod).
SHELL := /bin/bash
# Python 3.12 is the target: Chalice takes the Lambda runtime from the packaging interpreter,
# and packaging on 3.11 silently drops numpy/scipy/scikit-learn (measured).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 python3; do \
            $$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins an old boto3 and packaging: it lives in its own virtual environment (measured)
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
STAGE ?= dev
TEMPLATE := build/$(STAGE)/sam.json
# make deploy
STACK_NAME ?= sluice-$(STAGE)
DEPLOY_BUCKET ?= $(SLUICE_ARTIFACT_BUCKET)
PANDAS_LAYER_ARN ?= $(SLUICE_PANDAS_LAYER_ARN)
PARAMETER_OVERRIDES ?=

.PHONY: venv demo test lint up clean layers template package size-budget cfn-lint checkov infra-check deploy sizing

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required (python3.12 not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required (python3.12 not found)"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

demo: venv
	$(BIN)/sluice demo

up: venv
	$(BIN)/sluice up

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The tiers (tests/README.md), slowest first. pytest-xdist hands whole files to the two workers in this
# order (--no-loadscope-reorder; by default it sorts files by test count, which left the one-test,
# 100-second API fuzzing file for last): the long e2e files start at once, short unit files fill the end.
PYTEST_PATHS ?= tests/e2e tests/functional tests/unit

test: venv lint template
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_PATHS) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory infra-check

# ---- deployment: template, layers, size, checks (docs/deploy.md) ----------------------------------

# The ML layer zip, cached in build/layers/ (rebuilt only when requirements-layer-ml.txt changes).
layers: venv
	$(BIN)/python scripts/build_ml_layer.py

# build/$(STAGE)/sam.json + deployment.zip; fails when chalice prints "Could not install dependencies".
template: venv
	$(BIN)/python scripts/package.py --stage $(STAGE)

package: layers template

# infra/sizing.json (the template's memory, timeouts, /tmp and training's row limit) from measurements
# on the bench data: docs/sizing.md. 100k-1M rows, validation also 5M (~3 minutes on 2 cores, plus the 5M
# data the first time): below a few chunks the upload path's memory looks linear in rows and the limits
# come out far too low. SIZING_ARGS=--quick: 25k-100k.
SIZING_ARGS ?= --full
sizing: venv
	$(BIN)/python bench/sizing.py $(SIZING_ARGS)

size-budget: package
	$(BIN)/python scripts/size_budget.py --stage $(STAGE)

cfn-lint: template
	$(BIN)/cfn-lint $(TEMPLATE)

checkov: template $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --file $(TEMPLATE) --framework cloudformation --skip-download --compact --quiet

infra-check: cfn-lint checkov

# Needs an AWS account: credentials, DEPLOY_BUCKET (an S3 bucket for the artifacts) and the
# AWS SDK for pandas layer ARN of the region. Not run by CI.
deploy: package size-budget
	@test -n "$(DEPLOY_BUCKET)" || { echo "set DEPLOY_BUCKET=<an S3 bucket for deployment artifacts>"; exit 1; }
	@test -n "$(PANDAS_LAYER_ARN)" || { echo "set PANDAS_LAYER_ARN=arn:aws:lambda:<region>:336392948345:layer:AWSSDKPandas-Python312:<n>"; exit 1; }
	aws cloudformation package --template-file $(TEMPLATE) --s3-bucket $(DEPLOY_BUCKET) \
	    --s3-prefix $(STACK_NAME) --output-template-file build/$(STAGE)/packaged.yaml
	aws cloudformation deploy --template-file build/$(STAGE)/packaged.yaml --stack-name $(STACK_NAME) \
	    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
	    --parameter-overrides AwsSdkPandasLayerArn=$(PANDAS_LAYER_ARN) $(PARAMETER_OVERRIDES)
	aws cloudformation describe-stacks --stack-name $(STACK_NAME) --query "Stacks[0].Outputs" --output table

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .ruff_cache sluice-demo test-artifacts
