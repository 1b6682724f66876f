"""Scripts that measure the performance goals (see docs/benchmarks.md); not part of the test suite."""
