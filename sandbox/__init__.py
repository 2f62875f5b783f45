"""The sandbox: run untrusted code in rootless Podman (knows nothing of Redis or HTTP)."""
