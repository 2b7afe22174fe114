# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install translations db-upgrade demo clean vendor bench soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d marketplace/translations

db-upgrade: install
	$(FLASK) db upgrade

# Web site on http://127.0.0.1:5000, job worker and SMTP sink (mail readable at /dev/mail).
run: install
	$(BIN)/python -m marketplace.dev

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark in one run, one table: `make bench` (10k listings, about 5 minutes), SIZE=100k (9 min) or 1m.
# Data cached in bench/out/$(SIZE)/, results in bench/out/$(SIZE)/results.{md,json}. Needs wrk (Debian).
SIZE ?= 10k
bench: install
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
		|| { echo "could not install wrk (apt-get install -y wrk)"; exit 1; }
	$(BIN)/python bench/run_all.py --size $(SIZE) $(BENCH_ARGS)

# Endurance: MINUTES (10) of mixed load — browsing, searches, listings posted through the forms, answers,
# bids in a live room, approvals — against gunicorn, a job worker and an SMTP sink on the SIZE data set;
# fails (exit 1) on any error, failed check or growing memory. bench/out/$(SIZE)/soak.{md,json}.
MINUTES ?= 10
soak: install
	$(BIN)/python bench/soak.py --size $(SIZE) --minutes $(MINUTES) $(SOAK_ARGS)

# Refresh the front-end libraries copied from npm into static/vendor (needs npm; not needed to run).
vendor:
	rm -rf build/vendor && mkdir -p build/vendor && cd build/vendor && npm pack leaflet@1.9.4 htmx.org@2.0.11 chart.js@4.5.1 >/dev/null
	cd build/vendor && for f in *.tgz; do mkdir -p $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done
	cp build/vendor/leaflet-1.9.4/package/dist/leaflet.js build/vendor/leaflet-1.9.4/package/dist/leaflet.css static/vendor/leaflet/
	cp -r build/vendor/leaflet-1.9.4/package/dist/images static/vendor/leaflet/
	cp build/vendor/htmx.org-2.0.11/package/dist/htmx.min.js static/vendor/htmx/
	cp build/vendor/chart.js-4.5.1/package/dist/chart.umd.min.js build/vendor/chart.js-4.5.1/package/LICENSE.md static/vendor/chartjs/

clean:
	rm -rf $(VENV) build *.egg-info
