"""Pure logic on plain data: no files, no git, no subprocesses; unit-tested without DVC."""
