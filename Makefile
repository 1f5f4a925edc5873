# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck clean mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/followup dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The safety-critical functions mutation testing walks (mutmut names: module.x_function,
# module.xǁClassǁmethod). Files and their tests: [tool.mutmut] in pyproject.toml.
MUTATION_TARGETS := \
	'followup.delivery.consent.x_consent_gate__*' \
	'followup.delivery.consent.x_consent_verdict__*' \
	'followup.delivery.claim.x_claim_batch__*' \
	'followup.replies.classifier.red_flags.x_find_red_flags__*' \
	'followup.replies.classifier.red_flags.xǁ_Replyǁcounts__*' \
	'followup.replies.classifier.red_flags.xǁ_Replyǁterm__*' \
	'followup.replies.classifier.red_flags.xǁ_Replyǁflag__*' \
	'followup.replies.classifier.scope.x_negated__*' \
	'followup.replies.classifier.scope.x_resolved__*' \
	'followup.replies.classifier.scope.x_clause_words__*' \
	'followup.replies.receive.x_store_reply_once__*' \
	'followup.replies.receive.x_receive_sms__*' \
	'followup.web.twilio_signature.x_twilio_form__*' \
	'followup.web.deps.x_current_staff__*' \
	'followup.web.deps.x_require_staff__*' \
	'followup.web.deps.x_require_admin__*' \
	'followup.messages.plans.x_next_allowed_time__*' \
	'followup.messages.plans.x__in_quiet_hours__*' \
	'followup.messages.plans.x__nominal_send_at__*' \
	'followup.messages.plans.x_plan_sends__*' \
	'followup.messages.plans.x__local_to_utc__*' \
	'followup.messages.plans.x__expires_at__*'

# Mutation testing (README "Mutation testing"): about 30 minutes; results stay in mutants/.
mutation: $(STAMP)
	$(BIN)/mutmut run $(MUTATION_TARGETS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache mutants
