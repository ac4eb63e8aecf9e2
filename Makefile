# emr-cdktf: every set-up step lives here, so a fresh machine needs only `make synth` / `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := synth

PYTHON ?= python3
# Pipenv keeps the virtualenv in .venv/ (cdktf.json and the tests rely on that path).
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
# Pipfile's source is "${PIP_INDEX_URL}" so no index host is written into the repository:
# take pip's own configured index, else pip's built-in default.
PIP_INDEX_URL ?= $(shell $(PYTHON) -m pip config get global.index-url 2>/dev/null || $(PYTHON) -c "from pip._internal.models.index import PyPI; print(PyPI.simple_url)")
export PIP_INDEX_URL
# Node 22 and the cdktf CLI come from the project's node_modules, never a global install.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export JSII_NODE := $(CURDIR)/node_modules/.bin/node
export CHECKPOINT_DISABLE := 1
# A TF_CLI_CONFIG_FILE naming a missing file makes every terraform call cdktf makes print a
# warning; only a file that exists is passed on.
ifneq ($(TF_CLI_CONFIG_FILE),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
unexport TF_CLI_CONFIG_FILE
endif
endif
export CDKTF_DISABLE_TELEMETRY := true

# FRAMEWORK=cdktn runs every target on CDK Terrain, the community continuation of cdktf
# (docs/framework.md): its own virtualenv .venv-cdktn (the Pipfile's [cdktn] category beside
# [dev-packages]) and the cdktn CLI. The default is cdktf 0.21 in .venv, as before. The app
# learns the choice from EMR_CDKTF_FRAMEWORK (emr_constructs/framework.py).
FRAMEWORK ?= cdktf
ifeq ($(FRAMEWORK),cdktf)
VENV := .venv
CDK := cdktf
else ifeq ($(FRAMEWORK),cdktn)
VENV := .venv-cdktn
CDK := cdktn --app "$(VENV)/bin/python main.py"
else
$(error FRAMEWORK=$(FRAMEWORK) is not a framework this app runs on; allowed: cdktf (the default, cdktf 0.21) or cdktn (CDK Terrain 0.24). Fix: `make <target>` or `make <target> FRAMEWORK=cdktn`)
endif
export EMR_CDKTF_FRAMEWORK := $(FRAMEWORK)

# Pipenv itself lives in a small tool environment of the project (.tools/), pinned to the
# version that wrote Pipfile.lock: nothing is installed into the system Python (which
# may refuse it, PEP 668), and a different global pipenv never re-resolves the lock.
PIPENV_VERSION := 2026.10.3
TOOLS := .tools
PIPENV := $(TOOLS)/bin/python -m pipenv
VENV_STAMP := $(VENV)/.synced
NODE_STAMP := node_modules/.installed

.PHONY: synth test test-fast bench review review-sample deps clean distclean validate lint docs schema sandbox sandbox-down deploy

deps: $(VENV_STAMP) $(NODE_STAMP)

$(TOOLS)/.pipenv-$(PIPENV_VERSION):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"
	@touch $@

.venv/.synced: Pipfile Pipfile.lock $(TOOLS)/.pipenv-$(PIPENV_VERSION)
	$(PIPENV) sync --dev
	@touch $@

# CDK Terrain and the dev tools, without [packages] (cdktf's pins): pipenv installs into the
# virtualenv VIRTUAL_ENV names.
.venv-cdktn/.synced: Pipfile Pipfile.lock $(TOOLS)/.pipenv-$(PIPENV_VERSION)
	test -x .venv-cdktn/bin/python || $(PYTHON) -m venv .venv-cdktn
	VIRTUAL_ENV=$(CURDIR)/.venv-cdktn $(PIPENV) sync --categories "dev-packages cdktn"
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	@touch $@

# Output folder of `make synth`. Not emptied first: the cdktf CLI removes stack folders
# that are no longer synthesized, and a run stopped by bad settings keeps the last good
# output (and any `terraform init` done in it).
CDKTF_OUT ?= cdktf.out

# Settings are checked first, outside cdktf: cdktf prints an app's stderr as [ERROR]
# lines and repeats it all when the app fails, so a settings error would show twice.
# A failing build's message goes to a file (main.py, EMR_CDKTF_ERROR_FILE) and is printed
# once after cdktf's own failure line: cdktf repeats whatever an app printed.
synth: deps
	@$(VENV)/bin/python main.py --check-settings
	@errors=$$(mktemp); \
	EMR_CDKTF_ERROR_FILE=$$errors $(CDK) synth --output $(CDKTF_OUT); status=$$?; \
	if [ $$status -ne 0 ] && [ -s $$errors ]; then cat $$errors >&2; fi; \
	rm -f $$errors; exit $$status
	@ls $(CDKTF_OUT)/stacks

# Every lane, on every core (pytest-xdist): the terraform tier shares one stand-in and one
# applied app, so tests/conftest.py groups it onto one worker (--dist loadgroup) while the
# other workers run the rest. TEST_WORKERS=0 runs in this process only. PYTEST_ARGS
# narrows the run (files, -k); the tests workflow runs the CDK Terrain job so.
TEST_WORKERS ?= auto
test: deps
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The lane to run while editing: no terraform, no network namespaces, no synthesis (the
# markers are set in tests/conftest.py); a couple of minutes at most.
FAST_LANES := not terraform and not netns and not synth and not slow
test-fast: deps
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) -m "$(FAST_LANES)" $(PYTEST_ARGS)

# Lint (ruff, rules and complexity cap in pyproject.toml), layout (ruff format; fix with
# `.venv/bin/ruff format .`) and types (mypy, with the boto3 stubs). Run it before
# landing; .ci/run and the tests workflow gate on it.
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The construct reference (docs/reference.md) from the docstrings; a test fails when the
# committed page is out of date.
docs:
	$(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,$(PYTHON)) docs/build_reference.py

# The JSON Schema of environments/*.toml (environments/settings.schema.json) from the
# settings model, for editors (docs/settings.md); a test fails when it is out of date.
schema: deps
	$(VENV)/bin/python -m environments.schema

# terraform init + validate on every stack of $(CDKTF_OUT), as synthesized: each stack is
# copied to .terraform-local/validate/ with an override pinning the aws provider to the
# version found in the local filesystem mirror (EMR_CDKTF_PROVIDER_MIRROR, else the usual
# plugin folders); cdktf.out itself is not written to.
validate: synth
	$(VENV)/bin/python -m devtools.toolchain validate $(CDKTF_OUT)

# The whole example app in a stand-in AWS account on localhost (moto over https), deployed
# with cdktf deploy, to try `python -m ops` without an AWS account; see docs/sandbox.md.
SANDBOX_PORT ?= 4599
export SANDBOX_PORT
sandbox: deps
	$(VENV)/bin/python -m devtools.sandbox up

sandbox-down:
	$(VENV)/bin/python -m devtools.sandbox down

bench: deps
	$(VENV)/bin/python bench/bench.py
	$(VENV)/bin/python bench/bench_scaling.py
	$(VENV)/bin/python bench/bench_review.py
	$(VENV)/bin/python bench/bench_refusal.py

# The guarded deploy (docs/deploy.md): synthesize $(EMR_CDKTF_ENV) (default example), then per
# stack, foundation first: plan -out, review the saved plan (the replacement guard), apply
# exactly that plan. STACKS=a,b limits it; DEPLOY_ARGS takes --plan-only, --allow-replace X,
# --auto-approve (CI only). Exit 3: refused by the guard; 4: the stack's state is locked.
deploy: deps
	@$(VENV)/bin/python -m deploy --outdir $(CDKTF_OUT) $(if $(EMR_CDKTF_ENV),--env $(EMR_CDKTF_ENV)) $(if $(STACKS),--stacks $(STACKS)) $(DEPLOY_ARGS)

# Every environment the change touches (all of them when shared code changes), or only
# $(EMR_CDKTF_ENV) when it is set. Progress goes to stderr, the report to stdout (the
# recipe is not echoed, so `make review > report.md` holds the report only).
review: deps
	@$(VENV)/bin/python -m review --base $(BASE) $(if $(EMR_CDKTF_ENV),--env $(EMR_CDKTF_ENV)) $(REVIEW_ARGS)

# The sample report of docs/review.md, from the project's own stacks (tests check it).
review-sample: deps
	$(VENV)/bin/python -m review.sample --write

clean:
	rm -rf cdktf.out .pytest_cache .terraform-local .mypy_cache .ruff_cache

distclean: clean
	rm -rf .venv .venv-cdktn .tools node_modules
