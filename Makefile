# Two commands do everything on a fresh clone: `make run` and `make test`.
# uv is bootstrapped from PyPI into .tools/ when it is not installed.

SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python

.PHONY: run test lint demo bench schemas test-containers test-cluster sync clean ops

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

sync: .venv/.synced

run: sync
	$(PY) -m launcher

test: sync
	$(PY) -m pytest -q

test-cluster: sync
	$(PY) -m pytest -q -s --cluster tests/integration/foundation/test_kafka_cluster.py

test-containers: sync
	$(PY) -m pytest -q --containers tests/integration

lint: sync
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

schemas: sync
	$(PY) -m schemas.export

# Operator tools against the running system: make ops ARGS="dlq list" (see docs/runbook.md).
ops: sync
	$(PY) -m ops $(ARGS)

demo: sync
	$(PY) -m bench.demo

bench: sync
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf .run
