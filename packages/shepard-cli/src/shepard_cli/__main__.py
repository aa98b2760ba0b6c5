"""Run the shepard command line with `python -m shepard_cli`."""

from shepard_cli import main

main()
