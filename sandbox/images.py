"""Build the language images (``sandbox/images/<key>/Dockerfile``) through the podman service's API.

podman-py's ``images.build()`` reads the whole build log before it returns, so a build of several
minutes would show nothing until its end. This module posts to the same ``/build`` endpoint with
podman-py's client and its tar helpers and hands each log line to ``on_progress`` as it arrives.
The API's ``networkmode=host`` is what ``podman build --network host`` does (rootless slirp4netns
does not work on every host, and apt needs the network during the build).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterator

import podman
import requests
from podman.api import create_tar, prepare_containerignore
from podman.api.client import APIResponse

from sandbox.languages import IMAGES_DIR, Language

BUILD_NETWORK_MODE = "host"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LOCAL_PREFIX = "localhost/"  # images that exist only in local storage and can never be pulled
CONNECT_TIMEOUT_S = 10.0
# Longest silence between two log lines: apt downloads and `go install std` print nothing for a while.
BUILD_STALL_TIMEOUT_S = 1800.0
ERROR_TAIL_LINES = 15  # log lines quoted in an ImageBuildError
_IMAGE_ID = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")  # a successful build's last log line


class ImageBuildError(RuntimeError):
    """A language image could not be built or looked up; the message names the image and the cause."""


def image_exists(client: podman.PodmanClient, ref: str) -> bool:
    try:
        return bool(client.images.exists(ref))
    except (podman.errors.APIError, requests.RequestException, OSError) as exc:
        raise ImageBuildError(f"looking up image {ref}: podman service failed: {_cause(exc)}") from exc


def build_image(
    client: podman.PodmanClient,
    language: Language,
    base: str,
    prefix: str,
    on_progress: Callable[[str], None],
    *,
    no_cache: bool = False,
) -> None:
    """Build ``language.image(prefix)`` FROM ``base``; raises ImageBuildError with the log's tail.

    ``no_cache`` rebuilds every layer: a cached ``apt-get install`` layer never sees package updates,
    so a periodic rebuild meant to pick them up must pass it.
    """
    ref = language.image(prefix)
    context = IMAGES_DIR  # every language's directory, and common/ (the install script they share)
    if not language.dockerfile.is_file():
        raise ImageBuildError(f"building {ref}: no Dockerfile at {language.dockerfile}")
    if base.startswith(LOCAL_PREFIX) and not image_exists(client, base):
        # podman would try to pull it from a registry named "localhost" and fail obscurely
        raise ImageBuildError(f"building {ref}: base image {base} is missing (build it with scripts/base-image.sh)")
    params: dict[str, object] = {
        "dockerfile": str(language.dockerfile.relative_to(IMAGES_DIR)),
        "t": ref,
        "buildargs": json.dumps({"BASE": base}),
        "networkmode": BUILD_NETWORK_MODE,
        "layers": True,
        "rm": True,
        "forcerm": True,  # no intermediate containers left behind by a failed step
        "nocache": no_cache,
        # Without an explicit format the libpod endpoint builds with format "" and never matches a
        # cached layer (buildah compares the manifest type): every build would start from scratch.
        "outputformat": OCI_MANIFEST,
    }
    tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
    try:
        tar = create_tar(anchor=str(context), exclude=prepare_containerignore(str(context)))
    except OSError as exc:
        raise ImageBuildError(f"building {ref}: cannot pack the build context {context}: {exc}") from exc
    try:
        with tar:
            response = client.api.post(
                "/build",
                params=params,
                data=tar,
                headers={"Content-Type": "application/x-tar"},
                stream=True,
                timeout=(CONNECT_TIMEOUT_S, BUILD_STALL_TIMEOUT_S),
            )
            try:
                if response.status_code >= 400:
                    raise ImageBuildError(f"building {ref}: podman refused the build: {_refusal(response)}")
                image_id = _follow(response.iter_lines(), ref, tail, on_progress)
            finally:
                response.close()
    except (podman.errors.APIError, requests.RequestException, OSError) as exc:
        raise ImageBuildError(f"building {ref}: podman service failed: {_cause(exc)}{_quote(tail)}") from exc
    if image_id is None:
        raise ImageBuildError(f"building {ref}: the build ended without an image{_quote(tail)}")


def _follow(lines: Iterator[bytes], ref: str, tail: deque[str], on_progress: Callable[[str], None]) -> str | None:
    """Relay the build's JSON log lines; return the id the build reports last, raise on an error line."""
    image_id = None
    for raw in lines:
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            event = {"stream": raw.decode(errors="replace")}
        if event.get("error"):
            raise ImageBuildError(f"building {ref}: {str(event['error']).strip()}{_quote(tail)}")
        aux = event.get("aux")
        found = _IMAGE_ID.match(str(aux.get("ID", ""))) if isinstance(aux, dict) else None
        if found:
            image_id = found.group(1)
        for line in str(event.get("stream", "")).splitlines():
            line = line.rstrip()
            if not line:
                continue
            tail.append(line)
            on_progress(line)
            found = _IMAGE_ID.match(line)
            if found:
                image_id = found.group(1)
    return image_id


def _refusal(response: APIResponse) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("cause") or body)
    except ValueError:
        return response.text[:500] or f"HTTP {response.status_code}"


def _cause(exc: BaseException) -> str:
    """podman-py wraps transport errors in a bare "operation failed": name the underlying cause too."""
    cause = exc.__cause__ or exc.__context__
    return f"{exc} ({cause})" if cause is not None and str(cause) not in str(exc) else str(exc)


def _quote(tail: deque[str]) -> str:
    return "\n  last log lines:\n    " + "\n    ".join(tail) if tail else ""
