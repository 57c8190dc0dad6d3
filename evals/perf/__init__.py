"""Speed benchmarks: scripts that print a table of medians against a baseline (see README.md)."""
