"""Benchmarks, run as scripts (`python bench/<name>.py`); kept apart from the tests."""
