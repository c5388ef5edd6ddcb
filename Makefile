# The two commands a new user types: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Threaded OpenBLAS makes scipy's L-BFGS-B several times slower on small problems (scipy #22438, #23191).
export OPENBLAS_NUM_THREADS ?= 1
# Extra pytest arguments. By default the slow statistical and scale checks (marked `slow`) run only where CI is
# set (CI services set it; .ci/run sets it too), so that `make test` on a 2-core machine stays under 15 minutes;
# `CI=true make test` or `make test PYTEST_ARGS=` runs them all locally.
PYTEST_ARGS ?= $(if $(CI),,-m "not slow")

.PHONY: demo test lint typecheck test-fast java browser postgres clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# numba compiles the value summary's kernels once into its cache (about 6 s), here rather than in a user's first
# `fairserve value fit` on a big log
WARM_KERNELS := $(BIN)/python -c "from fairserve.value import _rfm_kernels as k; k.warm()"

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	$(WARM_KERNELS)
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,spark,text-tuned]'
	$(WARM_KERNELS)
	touch $@

# PySpark needs a Java runtime; install Debian's when the machine has none.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing a Java runtime for PySpark"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) \
	  || echo "warning: no Java runtime; the Spark tests will be skipped"; }

# The report's browser tests drive Debian's chromium through Playwright; install it when the machine has none
# (Playwright's own browser download is never used).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "warning: no chromium; the browser tests will fail"; }

# The service tests start a private PostgreSQL server (initdb into a temporary folder, loopback only, stopped at the
# end); install Debian's server when the machine has none, without creating or starting a cluster of its own.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's PostgreSQL server for the service tests"; \
	  mkdir -p /etc/postgresql-common/createcluster.d; \
	  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/fairserve.conf; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
	  || echo "warning: no PostgreSQL server; the service tests on PostgreSQL will fail"; }

demo: $(VENV)/.demo-installed
	$(BIN)/fairserve demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

test: $(VENV)/.dev-installed java browser postgres lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast:
	$(MAKE) test PYTEST_ARGS="-m 'not slow'"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info fairserve-demo
