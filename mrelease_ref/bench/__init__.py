"""Benchmark scripts (not tests): run with ``python -m mrelease_ref.bench.<name>``.

Limitations:
    - Benchmarks print tables for people; nothing here asserts or fails on a number.
"""
