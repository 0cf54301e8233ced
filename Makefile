# The README's two commands: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# Our `platform` package must come before the standard library's module of that name in every
# process (the web server, celery): PYTHONPATH entries precede the standard library on sys.path.
export PYTHONPATH := $(CURDIR)

# Tests run against the real local servers unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/platform
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
TEST_CACHE_URL ?= redis://127.0.0.1:6379/1
# The second pass: the tests marked `parity` (behaviour whose code differs by database, see
# platform/backends.py) again on SQLite, the embedded mode's database, in a real file (test_*).
TEST_PARITY_DATABASE_URL ?= sqlite:///$(CURDIR)/var/parity.sqlite3

.PHONY: install run test lint migrate clean perf perf-deliveries fuzz

# `make run` installs what the platform runs on; the tests, lint and benchmarks add the test group
# (Playwright, Schemathesis, mypy and the rest), which a first `make run` need not wait for.
$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --group run
	touch $@

$(VENV)/.installed: $(VENV)/.installed-run
	$(PY) -m pip install -q --group run --group test
	touch $@

install: $(VENV)/.installed

migrate: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput

# `make run HOST=0.0.0.0` listens on the network, so a board can post to it (platform/lan.py).
HOST ?= 127.0.0.1
PORT ?= 8000

run: migrate
	BIND=$(HOST):$(PORT) $(PY) manage.py demo
	BIND=$(HOST):$(PORT) $(PY) manage.py runstack

# Two passes: everything on PostgreSQL, then the parity tests on SQLite (exit status 5 is
# "nothing collected", when ARGS select no parity test).
test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-$(TEST_CACHE_URL)} \
	ENDPOINTS_ALLOW_PRIVATE_IPS=true \
	$(PY) -m pytest $(ARGS)
	DATABASE_URL=$(TEST_PARITY_DATABASE_URL) \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-$(TEST_CACHE_URL)} \
	ENDPOINTS_ALLOW_PRIVATE_IPS=true \
	$(PY) -m pytest -m parity $(ARGS) || [ $$? -eq 5 ]

# ruff, then mypy with the Django and DRF plugins ([tool.ruff] and [tool.mypy] of pyproject.toml);
# CI runs them before the tests.
lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy .

clean:
	rm -rf var/

# Benchmarks (print figures; see tests/perf/). Needs the local PostgreSQL and Redis.
perf: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) tests/perf/bench_ingest.py

perf-deliveries: install
	$(PY) tests/perf/bench_deliveries.py

# The API fuzzer (Schemathesis, tests/security/test_schemathesis.py) with many more examples per
# operation than `make test`'s run, and the stateful phase: before a release. Takes a long while.
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_PHASES=$${FUZZ_PHASES:-examples,coverage,fuzzing,stateful} \
		$(MAKE) test ARGS="tests/security/test_schemathesis.py -q -p no:cacheprovider"
