"""The HTTP API: a Falcon app built by create_app (api -> actors -> sandbox)."""
