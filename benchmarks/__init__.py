"""Benchmarks: synthetic submissions and the runner that times grader on them."""
