# Two commands: `make run` (set up and serve with demo data) and `make test` (set up and test).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Protocol-level WebSocket cap; consumers answer politely below it (WS_MAX_MESSAGE_BYTES).
DAPHNE_ARGS ?= --websocket-max-message-size 16777216 --websocket-max-frame-size 16777216
PYTEST_ARGS ?=

.PHONY: install install-dev run serve test lint worker beat migrate demo check-services clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.base-installed: requirements/base.txt requirements/nodeps.txt | $(PY)
	$(PY) -m pip install -q -r requirements/base.txt
	$(PY) -m pip install -q --no-deps -r requirements/nodeps.txt
	touch $@

$(VENV)/.dev-installed: requirements/base.txt requirements/nodeps.txt requirements/dev.txt requirements/dev-nodeps.txt \
		requirements/mmpose.txt requirements/mmpose-nodeps.txt | $(PY)
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -r requirements/nodeps.txt -r requirements/dev-nodeps.txt
	$(PY) -m pip install -q -r requirements/mmpose.txt
	$(PY) -m pip install -q --no-deps -r requirements/mmpose-nodeps.txt
	touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_robots
	$(PY) manage.py seed_demo_training

# Serves the platform and runs a simulated robot agent for the demo arm beside it (stopped with it).
run: demo
	$(PY) manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)  (API docs: /api/docs/, admin: /admin/)"
	ROBOT_AGENT_CREDENTIAL="$$(cat var/demo-robot.credential)" $(PY) -m robots.agent \
		--url ws://$(HOST):$(PORT)/ws/v1/robots/agent/ --log-level WARNING & AGENT=$$!; \
	trap 'kill $$AGENT 2>/dev/null' EXIT INT TERM; \
	$(PY) -m daphne -b $(HOST) -p $(PORT) $(DAPHNE_ARGS) config.asgi:application

serve: install
	$(PY) -m daphne -b $(HOST) -p $(PORT) $(DAPHNE_ARGS) config.asgi:application

test: install-dev
	mkdir -p var
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .

worker: install
	$(PY) -m celery -A config worker -l INFO

beat: install
	$(PY) -m celery -A config beat -l INFO -s var/celerybeat-schedule

check-services: install
	$(PY) manage.py check_services

clean:
	rm -rf var/test-db-*.sqlite3 var/test-media var/static var/daphne-test-*.log
