"""Benchmarks and the crash test (`make bench`, `make chaos`): numbers anyone can reproduce."""
