"""`python -m dataqa ...` is the `dataqa` command."""

from dataqa.cli import main

main()
