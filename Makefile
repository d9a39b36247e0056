# The two commands of the README's quick start: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
SIMULATOR_PORT ?= 5056
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
CHROMIUM ?= /usr/bin/chromium
POSTGRES_REACHABLE = $(BIN)/python -c "import psycopg; psycopg.connect('$(TEST_POSTGRES_URL)', connect_timeout=3).close()" 2>/dev/null

SERVE_PORT ?= 8000
# make serve listens on loopback unless told otherwise (SERVE_HOST, or SERVE_BIND such as
# unix:/run/cabinet/gunicorn.sock); with TRUSTED_PROXIES > 0 gunicorn.conf.py refuses a public
# address unless ALLOW_PUBLIC_BIND=1 (docs/deploy.md). HOST is make run's, not this.
SERVE_HOST ?= 127.0.0.1
SERVE_BIND ?= $(SERVE_HOST):$(SERVE_PORT)

.PHONY: run serve bench bench-scales wrk-deps instructions test lint unit-sqlite unit-postgres setup browser-deps page-checks proxy-deps metrics-deps reliability clean

# Installs run only when what they install from changed: each stamp holds a digest of its lock
# files, compared on every run (a checkout or a merge that leaves them as they were, with new
# times, installs nothing). Delete the stamp to force an install.
digest = $(shell cat $(1) 2>/dev/null | sha256sum | cut -c1-16)
PIP_LOCK := $(call digest,pyproject.toml constraints.txt)
NPM_LOCK := $(call digest,package.json package-lock.json)
PIP_STAMP := $(BIN)/.installed
NPM_STAMP := node_modules/.installed

setup:
	@if [ -x $(BIN)/python ] && [ "$$(cat $(PIP_STAMP) 2>/dev/null)" = "$(PIP_LOCK)" ]; then exit 0; fi; \
	echo "==> [1/4] Виртуальное окружение $(VENV) ($(PYTHON))"; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || exit 1; \
	echo "==> [2/4] Установка зависимостей (версии закреплены в constraints.txt)"; \
	$(BIN)/python -m pip install --quiet --upgrade pip \
		&& $(BIN)/python -m pip install --progress-bar on -c constraints.txt -e '.[dev]' \
		&& echo "$(PIP_LOCK)" > $(PIP_STAMP)

## make run: set up, migrate, seed the demo clients, serve the cabinet on SQLite, with the
## gateway simulator, the invitation worker and the webhook worker beside it (all stop with Ctrl+C).
run: export DEMO_MODE = 1
run: export SMS_GATEWAY_URL = http://127.0.0.1:$(SIMULATOR_PORT)/sms
run: export EMAIL_GATEWAY_URL = http://127.0.0.1:$(SIMULATOR_PORT)/email
run: export GATEWAY_TOKEN = local-simulator
run: export CABINET_BASE_URL = http://$(HOST):$(PORT)
run: setup
	@echo "==> [3/4] Миграции базы данных и демо-данные"
	@$(BIN)/flask db upgrade
	@$(BIN)/flask demo seed
	@echo "==> [4/4] Запуск: кабинет, симулятор шлюзов, отправка приглашений и вебхуков"
	@$(BIN)/python -m cabinet.simulator --port $(SIMULATOR_PORT) --token $$GATEWAY_TOKEN & sim=$$!; \
	$(BIN)/flask invitations deliver --loop & worker=$$!; \
	$(BIN)/flask webhooks deliver --loop & hooks=$$!; \
	trap 'kill $$sim $$worker $$hooks 2>/dev/null; wait' EXIT INT TERM; \
	echo; \
	echo "    Демо (панель):      http://$(HOST):$(PORT)/manage/login   (manager@example.ru / demo12345, затем «Сценарии»)"; \
	echo "    Кабинет:            http://$(HOST):$(PORT)/   (вход: info@alfatelecom.ru / demo12345)"; \
	echo "    Входящие симулятора: http://127.0.0.1:$(SIMULATOR_PORT)/   (SMS и письма приглашений)"; \
	echo; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## make serve: the production server (gunicorn.conf.py) on DATABASE_URL (SQLite by default,
## PostgreSQL when DATABASE_URL says so), after migrating it. docs/deploy.md has the rest.
serve: setup
	@echo "==> Миграции базы данных"
	@$(BIN)/flask db upgrade
	@echo "==> gunicorn: $(SERVE_BIND)"
	@exec $(BIN)/gunicorn --config gunicorn.conf.py --bind $(SERVE_BIND) wsgi:app

## make bench: the cabinet under gunicorn on SQLite and PostgreSQL next to a hello-world,
## driven by wrk on 127.0.0.1 (installed from Debian if missing); writes bench/results.md.
## BENCH_ARGS="--scale 1m" runs it on the 1 000 000-client set (bench/generate.py).
BENCH_ARGS ?=
bench: setup wrk-deps
	@TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)' $(BIN)/python -m bench.run $(BENCH_ARGS)

## make bench-scales: the same reads on two program sizes (bench and 1m by default), both
## served at once and each read driven on both at the same time, half the connections each:
## the ratio of each pair is what the size costs, whatever the machine's minute (PostgreSQL;
## writes bench/results-scales.md). BENCH_SCALES_ARGS="--repeat 5".
BENCH_SCALES_ARGS ?=
bench-scales: setup wrk-deps
	@TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)' $(BIN)/python -m bench.scales $(BENCH_SCALES_ARGS)

# wrk drives the load of both benchmarks (Debian's package).
wrk-deps:
	@command -v wrk >/dev/null || { echo "==> Установка wrk из пакетов Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

## make instructions: instructions per request of the cold reads, counted by valgrind's
## callgrind (the same count whatever else the machine does: an A/B of a few per cent shows);
## INSTRUCTIONS_ARGS="--database sqlite --endpoints 'full page'".
INSTRUCTIONS_ARGS ?=
instructions: setup
	@command -v valgrind >/dev/null || { echo "==> Установка valgrind из пакетов Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
	@TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)' $(BIN)/python -m bench.instructions $(INSTRUCTIONS_ARGS)

## make test: lint and types, then every test on SQLite and again on PostgreSQL. The
## PostgreSQL leg runs even when the SQLite leg failed; the command fails if either did.
test: setup lint browser-deps page-checks proxy-deps metrics-deps
	@sqlite=0; postgres=0; \
	$(MAKE) --no-print-directory unit-sqlite || sqlite=1; \
	$(MAKE) --no-print-directory unit-postgres || postgres=1; \
	echo; \
	if ! $(POSTGRES_REACHABLE); then pg=ПРОПУЩЕНО; elif [ $$postgres = 0 ]; then pg=пройдено; else pg=ОШИБКИ; fi; \
	echo "==> Итог: SQLite — $$([ $$sqlite = 0 ] && echo пройдено || echo ОШИБКИ), PostgreSQL — $$pg"; \
	[ $$sqlite = 0 ] && [ $$postgres = 0 ]

lint: setup
	@echo "==> ruff, mypy и слои импорта"
	@$(BIN)/ruff check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache
	@echo "==> bandit (cabinet/, средний и высокий уровень)"
	@$(BIN)/bandit -q -r cabinet -ll

# The tests that need no browser and load no servers run on every core (pytest-xdist, each
# worker with a database of its own); then the browser and load tests, one at a time, since
# their waits assume a machine of their own. Both always run; the leg fails if either did.
PYTEST_WORKERS ?= auto
PYTEST_LEG = fail=0; \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not browser and not load" || fail=1; \
	$(BIN)/pytest -m "browser or load" || fail=1; \
	exit $$fail

unit-sqlite: setup
	@echo "==> Тесты на SQLite"
	@$(PYTEST_LEG)

unit-postgres: setup
	@if $(POSTGRES_REACHABLE); then \
		echo "==> Тесты на PostgreSQL ($(TEST_POSTGRES_URL))"; \
		export TEST_DATABASE_URL='$(TEST_POSTGRES_URL)'; $(PYTEST_LEG); \
	else \
		echo; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!!  ПРОПУЩЕНО: PostgreSQL недоступен по $(TEST_POSTGRES_URL)"; \
		echo "!!  Прогон на PostgreSQL не выполнен. Задайте TEST_POSTGRES_URL или запустите сервер."; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		if [ "$$CI" = "true" ]; then echo "CI требует прогона на PostgreSQL."; exit 1; fi; \
	fi

# Browser tests drive Debian's Chromium; as root we install it, otherwise they are skipped loudly.
browser-deps:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "==> Установка Chromium из пакетов Debian"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null) \
			|| echo "!! Chromium не установлен: браузерные тесты будут пропущены"; \
	fi

# The two-server test puts nginx from Debian in front of two cabinets; as root we install it,
# otherwise that test is skipped with a notice.
proxy-deps:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "==> Установка nginx из пакетов Debian"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
			|| echo "!! nginx не установлен: тест двух серверов будет пропущен"; \
	fi

# One test has Debian's Prometheus server scrape /metrics (≈30 s to install, without the
# recommended exporters); as root we install it, otherwise that test is skipped with a notice.
metrics-deps:
	@if ! command -v prometheus >/dev/null && [ ! -x /usr/bin/prometheus ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "==> Установка Prometheus из пакетов Debian"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
			|| echo "!! Prometheus не установлен: тест сбора метрик сервером Prometheus будет пропущен"; \
	fi

## make reliability: the attack suite and the fault tests on SQLite and PostgreSQL, then
## docs/reliability.md written from the figures they record, then checked against the app
## (the check is left out of the runs before: it fails on the stale page being replaced).
RELIABILITY_DOC_TEST = tests/security/test_reliability_doc.py
reliability: setup proxy-deps
	@rm -f test-output/reliability-*.json
	@$(BIN)/pytest -q tests/security tests/invitations/test_outage.py tests/load --ignore=$(RELIABILITY_DOC_TEST)
	@if $(POSTGRES_REACHABLE); then \
		TEST_DATABASE_URL='$(TEST_POSTGRES_URL)' $(BIN)/pytest -q tests/security tests/invitations/test_outage.py tests/load --ignore=$(RELIABILITY_DOC_TEST); \
	fi
	@$(BIN)/python -m tests.reliability_report test-output docs/reliability.md
	@$(BIN)/pytest -q -p no:randomly $(RELIABILITY_DOC_TEST)

# The browser tests check every page with axe-core and the Nu Html Checker (vnu.jar, run by
# Java); the sign-in tests run a real OpenID provider (oidc-provider, run by Node): all from the
# npm registry, exact versions in package-lock.json, into node_modules/.
# The package scripts are not run (vnu-jar's would fetch a Java runtime; Debian's is used).
page-checks:
	@if [ "$$(cat $(NPM_STAMP) 2>/dev/null)" = "$(NPM_LOCK)" ]; then :; \
	elif command -v npm >/dev/null; then \
		echo "==> axe-core, Nu Html Checker и oidc-provider из npm (версии закреплены в package-lock.json)"; \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && echo "$(NPM_LOCK)" > $(NPM_STAMP); \
	else \
		echo "!! npm не найден: проверки страниц (axe-core, vnu) и тесты входа OIDC будут пропущены"; \
	fi
	@if ! command -v java >/dev/null && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "==> Java для Nu Html Checker из пакетов Debian"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null) \
			|| echo "!! Java не установлена: проверка HTML (vnu) будет пропущена"; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-output node_modules
