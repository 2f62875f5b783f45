"""A Piston v2 compatible API (`/api/v2/runtimes`, `/api/v2/execute`) over KodeWar's pipeline."""

from api.piston.resources import PREFIX, add_routes

__all__ = ["PREFIX", "add_routes"]
