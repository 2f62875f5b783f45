"""The `kodewar` command: run code in the sandbox, list languages, build images, check the host."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kodewar.render import result_text, table
from kodewar.settings import Settings, SettingsError, load_settings
from sandbox.languages import RegistryError, load_registry
from sandbox.podman_api import SandboxUnavailable
from sandbox.runner import Runner, SandboxError
from sandbox.submission import InvalidSubmission, build_submission

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input on the command line: a message and exit status 2."""


def _read_tests(path: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read tests file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"tests file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise UsageError(f"tests file {path} must hold a JSON list of {{\"input\": ..., \"expected\": ...}}")
    return data


def submission_body(args: argparse.Namespace) -> dict[str, Any]:
    """The request body shared by `run` and (later) `submit`: the same shape the API accepts."""
    try:
        code = Path(args.file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from exc
    body: dict[str, Any] = {"code": code, "language": args.language}
    if args.tests:
        body["test_cases"] = _read_tests(args.tests)
    if args.stdin is not None:
        body["stdin"] = args.stdin
    limits = {"cpu_time_s": args.time_limit, "memory_mb": args.memory_limit}
    body["limits"] = {k: v for k, v in limits.items() if v is not None}
    if args.mode:
        body["mode"] = args.mode
    if args.checker:
        body["checker"] = args.checker
    return body


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if args.tests and args.stdin is not None:
        raise UsageError("give either --tests or --stdin, not both")
    body = submission_body(args)
    if args.time_limit is not None:  # a wall limit that leaves room for the CPU limit, within the maximum
        wall_s = max(2 * args.time_limit, args.time_limit + 1)
        body["limits"]["wall_time_s"] = min(wall_s, settings.sandbox.policy.maxima.wall_time_s)
    registry = load_registry()
    try:
        submission = build_submission(body, registry, settings.sandbox.policy, settings.sandbox.caps)
    except InvalidSubmission as exc:
        raise UsageError(str(exc)) from exc
    result = Runner(settings.sandbox).run(submission).as_dict()
    print(json.dumps(result, indent=2) if args.json else result_text(result))
    return EXIT_OK


def cmd_languages(args: argparse.Namespace, settings: Settings) -> int:
    registry = load_registry()
    if args.json:
        print(json.dumps([_language_dict(lang) for lang in registry.values()], indent=2))
        return EXIT_OK
    rows = [
        [lang.key, lang.name, lang.version, " ".join(lang.compile) or "-", " ".join(lang.run), lang.function or "-"]
        for lang in registry.values()
    ]
    print(table(rows, ["language", "name", "version", "compile", "run", "function mode"]))
    return EXIT_OK


def _language_dict(lang: Any) -> dict[str, Any]:
    return {
        "language": lang.key,
        "name": lang.name,
        "version": lang.version,
        "source": lang.source,
        "compile": list(lang.compile) or None,
        "run": list(lang.run),
        "function_mode": lang.function is not None,
    }


def cmd_images_build(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.images import ImageBuildError, build_image

    registry = load_registry()
    unknown = [name for name in args.languages if name not in registry]
    if unknown:
        raise UsageError(f"unknown language(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    from sandbox.podman_api import PodmanAPI

    api = PodmanAPI(settings.sandbox.podman_url)
    if not api.image_exists(settings.sandbox.base_image):
        print(f"base image {settings.sandbox.base_image} is missing: run `make base-image` as root", file=sys.stderr)
        return EXIT_UNAVAILABLE
    import podman

    client = podman.PodmanClient(base_url=settings.sandbox.podman_url)
    for key in args.languages or list(registry):
        print(f"==> building {key}", flush=True)
        try:
            build_image(client, registry[key], settings.sandbox.base_image, settings.sandbox.image_prefix,
                        lambda line: print(f"    {line}", flush=True) if args.verbose else None)
        except ImageBuildError as exc:
            print(f"image build failed for {key}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"    built {registry[key].image(settings.sandbox.image_prefix)}", flush=True)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.doctor import run_checks

    checks = run_checks(settings.sandbox, load_registry(), languages=args.languages or None)
    if args.json:
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"doctor: {len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kodewar", description="KodeWar: run untrusted code in rootless Podman.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one submission in the sandbox on this machine")
    run.add_argument("file", help="source file")
    run.add_argument("--language", "-l", required=True)
    run.add_argument("--tests", help="JSON file: a list of {\"input\": ..., \"expected\": ...}")
    run.add_argument("--stdin", help="standard input for a single run")
    run.add_argument("--time-limit", type=float, help="CPU seconds per test")
    run.add_argument("--memory-limit", type=int, help="MB per test")
    run.add_argument("--mode", choices=["stdio", "function"])
    run.add_argument("--checker", choices=["default", "exact", "tokens", "float", "value"])
    run.add_argument("--json", action="store_true", help="print the result object")
    run.set_defaults(handler=cmd_run)

    languages = sub.add_parser("languages", help="list languages, versions and commands")
    languages.add_argument("--json", action="store_true")
    languages.set_defaults(handler=cmd_languages)

    images = sub.add_parser("images", help="manage sandbox images")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    build = images_sub.add_parser("build", help="build language images (all when none named)")
    build.add_argument("languages", nargs="*")
    build.add_argument("--verbose", "-v", action="store_true", help="show the build log")
    build.set_defaults(handler=cmd_images_build)

    doctor = sub.add_parser("doctor", help="check that this host enforces every sandbox limit")
    doctor.add_argument("--languages", nargs="*", help="only check these language images")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(args, settings))
    except (UsageError, SettingsError) as exc:
        print(f"kodewar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SandboxUnavailable, SandboxError, RegistryError) as exc:
        print(f"kodewar: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
