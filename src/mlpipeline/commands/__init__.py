"""What a person or a workflow runs: each module a `python -m` command the Makefile wraps."""
