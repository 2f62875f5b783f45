"""A Judge0 CE 1.13.1 compatible API over KodeWar's pipeline (see docs/compatibility.md)."""

from api.judge0.resources import PREFIX, add_routes

__all__ = ["PREFIX", "add_routes"]
