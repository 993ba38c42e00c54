# The two commands a newcomer needs (see README):
#   make demo   install everything, then audit + clean the embedded demo dataset (report under reports/demo)
#   make test   install everything, then lint, type-check, build the docs and run the test suite
.PHONY: setup demo test lint docs bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/dataqa demo --out reports/demo

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

docs: setup
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict -d build/site  # no -q: it hides the warnings --strict counts

test: lint docs
	.venv/bin/python -m pytest -q

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
