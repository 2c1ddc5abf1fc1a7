# Alongside — the verbs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8080

.PHONY: help run test lint fmt bench e2e test-deps web-assets build helm-check topics-file contracts-lock themes-model

help: ## List the verbs
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

web-assets: ## Install the NHS.UK design system for the gateway (npm, from the lockfile)
	@scripts/web-assets.sh

build: ## Build every binary (debug)
	cargo build --workspace --bins

run: web-assets ## Run the embedded suite with demo data on http://127.0.0.1:8080 (PORT=9000 to change)
	cargo build -p alongside-suite --bin alongside
	./target/debug/alongside --port $(PORT) --data-dir data

test-deps: ## Install what the tests need: PostgreSQL running, Tansu, Chromium, npm packages, helm
	@scripts/install-test-deps.sh

test: test-deps ## Install test dependencies, then run every tier of tests
	@scripts/test.sh

e2e: web-assets ## Browser tests only (Playwright + Chromium + axe-core)
	cargo build -p alongside-suite --bin alongside
	cd tests/browser && node --test

helm-check: ## Lint, render, validate (kubernetes-validate) and golden-compare the Helm chart (UPDATE=1 rewrites goldens)
	@scripts/install-helm-tools.sh >/dev/null
	cargo build --workspace --bins
	tools/venv/bin/python scripts/helm-check.py $(if $(UPDATE),--update)

topics-file: ## Rewrite the chart's copy of the Kafka topic registry (helm/alongside/files/topics.yaml)
	ALONGSIDE_UPDATE_TOPICS_FILE=1 cargo test -p alongside-events --lib the_helm_chart_lists_the_same_topics

contracts-lock: ## When a release is cut: record its gRPC and event contracts (proto/contracts.lock), which later v1 changes may only add to
	ALONGSIDE_UPDATE_CONTRACTS_LOCK=1 cargo test -p alongside-proto --lib the_contracts_keep_everything

themes-model: ## Retrain the free-text themes model on the public data and rewrite its evaluation (services/themes/model)
	cargo run --release -p alongside-themes --bin train-themes -- services/themes/model

lint: ## rustfmt check, clippy with warnings as errors, and the code's shape (no new long file, long function or import circle)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/code-shape.py

fmt: ## Format the code
	cargo fmt --all

bench: ## FFT ingest (SQLite, Kafka, 1M on PostgreSQL), dashboard queries, themes, People Bank search, claims, a payment run, the ICS dashboard over 5M, a shortlist over 100k partners: print figures
	cargo run --release -p alongside-tests --bin alongside-bench -- --responses $${RESPONSES:-100000} --kafka-responses $${KAFKA_RESPONSES:-20000} --partners $${PARTNERS:-100000} --searches $${SEARCHES:-1000} --attendances $${ATTENDANCES:-20000} --run-claims $${RUN_CLAIMS:-100000} --pg-responses $${PG_RESPONSES:-1000000} --dashboard-queries $${DASHBOARD_QUERIES:-200} --comments $${COMMENTS:-10000} --ics-responses $${ICS_RESPONSES:-5000000} --ics-queries $${ICS_QUERIES:-50} --past-attendances $${PAST_ATTENDANCES:-1000000} --shortlists $${SHORTLISTS:-200} --json $${BENCH_JSON:-target/bench.json}
