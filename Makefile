# The two commands of the README:  `make demo`  and  `make test`.
# Both install what they need (a virtualenv from setup.py; Debian's chromium for the browser tests).
VENV    ?= .venv
PYTHON  ?= python3
STAMP   := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test install browser clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip 'setuptools>=70' wheel
	$(VENV)/bin/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Debian's chromium drives the browser tests (Playwright never downloads a browser of its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

demo: $(STAMP)
	$(VENV)/bin/poms-dd demo

# Each run gets its own temporary root, so two runs on one machine never clean up each other's files.
test: $(STAMP) browser
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PYTEST_DEBUG_TEMPROOT="$$tmp" $(VENV)/bin/python -m pytest -q tests

clean:
	rm -rf $(VENV) .demo build *.egg-info
