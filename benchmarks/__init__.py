"""Benchmark suites, one module each; each registers its Suite where it defines it."""
