"""Dramatiq actors, the Redis submission store and the worker runtime (knows nothing of HTTP)."""
