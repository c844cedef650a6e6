# solbot: `make run` and `make test` set everything up on a fresh machine (Python 3.11, no Docker).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint bench chaos clean services-up services-down web-assets browser kafka

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP) web-assets kafka
	$(BIN)/solbot run

# `make test` leaves the suites marked slow to `make test-slow`; CI (.ci/run) runs both.
test: $(STAMP) web-assets kafka
	$(BIN)/pytest -q -m "not slow"

test-slow: $(STAMP) web-assets browser kafka
	$(BIN)/pytest -q -m slow

# The embedded broker: Apache Kafka (KRaft), its jars resolved by Maven from the pinned services/kafka/pom.xml
# into the local Maven repository, the classpath written to .cache/kafka/ with the pom's hash as the stamp.
# Skipped at once when the stamp matches; without a JDK or Maven the runs fall back to Tansu (one warning).
KAFKA_POM := services/kafka/pom.xml
KAFKA_CACHE := .cache/kafka

kafka:
	@hash=$$(sha256sum $(KAFKA_POM) | cut -d' ' -f1); \
	if [ -f $(KAFKA_CACHE)/classpath.txt ] && [ "$$(cat $(KAFKA_CACHE)/pom.sha256 2>/dev/null)" = "$$hash" ]; then \
		exit 0; \
	elif ! command -v java >/dev/null || ! command -v mvn >/dev/null; then \
		echo "kafka: no java or mvn here; the embedded broker will be Tansu (no transactions, memory only)"; \
	else \
		mkdir -p $(KAFKA_CACHE) && \
		mvn -q -B -f $(KAFKA_POM) dependency:build-classpath -Dmdep.outputFile=$(CURDIR)/$(KAFKA_CACHE)/classpath.tmp && \
		mv $(KAFKA_CACHE)/classpath.tmp $(KAFKA_CACHE)/classpath.txt && \
		echo "$$hash" > $(KAFKA_CACHE)/pom.sha256 && \
		echo "kafka: jars resolved ($(KAFKA_CACHE)/classpath.txt)"; \
	fi

# The dashboard's chart library (lightweight-charts, version pinned in web/dashboard/package.json) comes
# from npm, never committed; the API serves its standalone build from node_modules at /vendor.
DASHBOARD := web/dashboard
CHART_JS := $(DASHBOARD)/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js

web-assets: $(CHART_JS)

$(CHART_JS): $(DASHBOARD)/package.json $(DASHBOARD)/package-lock.json
	npm ci --prefix $(DASHBOARD) --no-audit --no-fund
	touch $(CHART_JS)

# Debian's Chromium for the dashboard's browser test (driven over the DevTools protocol; nothing else
# downloads a browser). Idempotent: skipped when /usr/bin/chromium exists.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

bench: $(STAMP) kafka
	$(BIN)/python -m bench.run

chaos: $(STAMP) kafka
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

services-up: $(STAMP) kafka
	$(BIN)/solbot services up

services-down: $(STAMP)
	$(BIN)/solbot services down

clean:
	-$(BIN)/solbot services down
	rm -rf .solbot .pytest_cache .mypy_cache .ruff_cache .cache
