"""The `kodewar` command: run code in the sandbox, list languages, build images, check the host."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kodewar.render import DEV_TOKEN_TTL_DAYS, result_text, table, up_banner
from kodewar.settings import Settings, SettingsError, load_settings
from sandbox.checkers import CHECKER_KINDS
from sandbox.languages import RegistryError, load_registry
from sandbox.modes import MODES
from sandbox.podman_api import SandboxUnavailable
from sandbox.runner import Runner, SandboxError
from sandbox.submission import InvalidSubmission, build_submission

if TYPE_CHECKING:
    import threading

    from kodewar.stack import LocalStack

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
        raise UsageError(f'tests file {path} must hold a JSON list of {{"input": ..., "expected": ...}}')
    return data


def submission_body(args: argparse.Namespace) -> dict[str, Any]:
    """The request body shared by `run` and `submit`: the same shape the API accepts."""
    if args.tests and args.stdin is not None:
        raise UsageError("give either --tests or --stdin, not both")
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


def with_wall_limit(body: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A wall limit that leaves room for a requested CPU limit, within the maximum."""
    cpu_s = body["limits"].get("cpu_time_s")
    if cpu_s is not None:
        wall_s = max(2 * cpu_s, cpu_s + 1)
        body["limits"]["wall_time_s"] = min(wall_s, settings.sandbox.policy.maxima.wall_time_s)
    return body


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    body = with_wall_limit(submission_body(args), settings)
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
            build_image(
                client,
                registry[key],
                settings.sandbox.base_image,
                settings.sandbox.image_prefix,
                lambda line: print(f"    {line}", flush=True) if args.verbose else None,
                no_cache=args.no_cache,
            )
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


def parse_ttl(text: str) -> int:
    """'90', '90s', '15m', '1h', '7d' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = int(float(number) * units[unit])
    except ValueError as exc:
        raise UsageError(f"--ttl {text!r}: use a number of seconds or 15m, 1h, 7d") from exc
    if seconds <= 0:
        raise UsageError("--ttl must be positive")
    return seconds


def cmd_secret_init(args: argparse.Namespace, settings: Settings) -> int:
    from kodewar.wiring import ensure_secret

    created = ensure_secret(settings.jwt_secret_file)
    print(f"{'created' if created else 'kept'} {settings.jwt_secret_file}")
    return EXIT_OK


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from kodewar.wiring import token_authority

    scopes = [s.strip() for s in args.scope.split(",") if s.strip()]
    try:
        print(token_authority(settings).issue(args.sub, scopes, parse_ttl(args.ttl)))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    from dataclasses import replace

    from actors.worker import serve_forever
    from kodewar.wiring import served_languages, worker_runtime
    from sandbox.doctor import run_checks

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.slots:
        settings = replace(settings, queue=replace(settings.queue, worker_threads=args.slots))
    if args.metrics_port is not None:
        settings = replace(settings, queue=replace(settings.queue, metrics_port=args.metrics_port))
    languages = served_languages(settings, args.languages)
    if not languages:
        print("kodewar worker: no language image on this host: run `kodewar images build`", file=sys.stderr)
        return EXIT_UNAVAILABLE
    failed = [c for c in run_checks(settings.sandbox, load_registry(), languages) if not c.ok]
    if failed:  # fail closed: a host that cannot hold the limits takes no work
        for check in failed:
            print(f"kodewar worker: doctor: {check.name}: {check.detail}", file=sys.stderr)
        return EXIT_FAILED
    serve_forever(worker_runtime(settings, languages))
    return EXIT_OK


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    import os

    settings.jwt_secret()  # fail now, with a clear message, rather than in every gunicorn worker
    config = str(Path(__file__).resolve().parent.parent / "api" / "gunicorn.conf.py")
    bind = ["--bind", args.bind] if args.bind else []
    argv = [sys.executable, "-m", "gunicorn", "-c", config, *bind, "kodewar.wiring:api_app()"]
    os.execv(sys.executable, argv)
    return EXIT_FAILED  # not reached


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    from kodewar import client

    return client.submit(args, with_wall_limit(submission_body(args), settings))


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from kodewar import client

    return client.status(args)


def cmd_workers(args: argparse.Namespace, settings: Settings) -> int:
    from kodewar import client

    return client.workers(args)


# -- kodewar up ---------------------------------------------------------------------------------

UP_MONITOR_INTERVAL_S = 1.0
# Variables `kodewar up` sets for its children; the caller's other KODEWAR_* settings are passed on.
STACK_OWNED = frozenset(
    {
        "KODEWAR_STATE_DIR",
        "KODEWAR_REDIS_URL",
        "KODEWAR_REDIS_PASSWORD_FILE",
        "KODEWAR_JWT_SECRET_FILE",
        "KODEWAR_PUBLIC_URL",
        "KODEWAR_API_WORKERS",
        "KODEWAR_API_BIND",
    }
)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no conflict
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _check_up_args(args: argparse.Namespace) -> None:
    ports = {"--port": args.port, "--redis-port": args.redis_port}
    if args.metrics_port:
        ports["--metrics-port"] = args.metrics_port + args.workers - 1
    for flag, port in ports.items():
        if not 0 < port < 65536:
            raise UsageError(f"{flag} must be between 1 and 65535")
    if args.metrics_port is not None and args.metrics_port < 0:
        raise UsageError("--metrics-port must be a port, or 0 to turn worker metrics off")
    if args.workers < 1 or (args.slots is not None and args.slots < 1):
        raise UsageError("--workers and --slots must be at least 1")
    if args.languages:
        unknown = sorted(set(args.languages) - set(load_registry()))
        if unknown:
            raise UsageError(f"unknown language(s): {', '.join(unknown)}; known: {', '.join(load_registry())}")


def _busy_ports(args: argparse.Namespace) -> list[str]:
    wanted = [("the API (--port)", args.port), ("Redis (--redis-port)", args.redis_port)]
    if args.metrics_port:
        wanted += [(f"worker {i} metrics (--metrics-port)", args.metrics_port + i) for i in range(args.workers)]
    return [f"{what}: 127.0.0.1:{port}" for what, port in wanted if not _port_free(port)]


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Run the whole stack in the foreground until Ctrl-C or SIGTERM, then stop it gracefully."""
    import os
    import signal
    import threading

    from kodewar.stack import LocalStack

    _check_up_args(args)
    busy = _busy_ports(args)
    if busy:
        print(f"kodewar up: port(s) in use, pick others: {'; '.join(busy)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    forwarded = {k: v for k, v in os.environ.items() if k.startswith("KODEWAR_") and k not in STACK_OWNED}
    stack = LocalStack(
        Path(settings.state_dir) / "stack",
        api_port=args.port,
        redis_port=args.redis_port,
        workers=args.workers,
        slots=args.slots or settings.queue.worker_threads,
        languages=args.languages or None,
        worker_metrics_port=args.metrics_port if args.metrics_port is not None else settings.queue.metrics_port,
        env=forwarded,
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run_stack(stack, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_stack(stack: LocalStack, stop: threading.Event) -> int:
    """Start in a thread (a signal must not land between a spawn and its bookkeeping), then watch the parts."""
    import subprocess
    import threading

    from kodewar.stack import StackError

    failure: list[BaseException] = []

    def start() -> None:
        try:
            stack.start()  # stops what it started when a part fails
        except BaseException as exc:
            failure.append(exc)

    print(
        f"kodewar up: starting Redis, the API and {stack.workers} worker(s) in {stack.state_dir} ...",
        file=sys.stderr,
        flush=True,
    )
    starter = threading.Thread(target=start, name="stack-start", daemon=True)
    starter.start()
    announced = False
    while starter.is_alive():
        starter.join(0.2)
        if stop.is_set() and not announced:
            print("kodewar up: stopping as soon as the part now starting is up", file=sys.stderr, flush=True)
            announced = True
    if failure:
        exc = failure[0]
        if isinstance(exc, StackError):
            print(f"kodewar up: {exc}", file=sys.stderr)
        elif isinstance(exc, SandboxUnavailable | subprocess.CalledProcessError):
            print(f"kodewar up: the podman service is not available: {exc}", file=sys.stderr)
        else:
            print(f"kodewar up: failed to start: {exc!r}", file=sys.stderr)
        print("kodewar up: stopped what had started", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if stop.is_set():
        stack.stop()
        print("kodewar up: stopped", file=sys.stderr, flush=True)
        return EXIT_OK
    print(
        up_banner(
            stack.url, stack.token(ttl_s=DEV_TOKEN_TTL_DAYS * 86400), stack.workers, stack.slots, stack.state_dir
        ),
        flush=True,
    )
    while not stop.wait(UP_MONITOR_INTERVAL_S):
        dead = [p for p in [stack.redis_process, stack.api, *stack.worker_processes] if p is not None and not p.alive()]
        if dead:
            for process in dead:
                print(
                    f"kodewar up: {process.name} exited (status {process.popen.returncode}); its log ({process.log}):"
                    f"\n{process.tail()}",
                    file=sys.stderr,
                )
            print("kodewar up: stopping the rest", file=sys.stderr, flush=True)
            stack.stop()
            return EXIT_UNAVAILABLE
    print("kodewar up: stopping (workers finish what they run first) ...", file=sys.stderr, flush=True)
    stack.stop()
    print("kodewar up: stopped", file=sys.stderr, flush=True)
    return EXIT_OK


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the API (default KODEWAR_URL or http://127.0.0.1:8000)")
    parser.add_argument("--token", help="a bearer token (default KODEWAR_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


def add_submission_arguments(parser: argparse.ArgumentParser) -> None:
    """What `run` and `submit` share: the same body, sent to the sandbox or to the API."""
    parser.add_argument("file", help="source file")
    parser.add_argument("--language", "-l", required=True)
    parser.add_argument("--tests", help='JSON file: a list of {"input": ..., "expected": ...}')
    parser.add_argument("--stdin", help="standard input for a single run")
    parser.add_argument("--time-limit", type=float, help="CPU seconds per test")
    parser.add_argument("--memory-limit", type=int, help="MB per test")
    parser.add_argument("--mode", choices=MODES)
    parser.add_argument("--checker", choices=CHECKER_KINDS)


def _run_arguments(run: argparse.ArgumentParser) -> None:
    add_submission_arguments(run)
    run.add_argument("--json", action="store_true", help="print the result object")
    run.set_defaults(handler=cmd_run)


def _languages_arguments(languages: argparse.ArgumentParser) -> None:
    languages.add_argument("--json", action="store_true")
    languages.set_defaults(handler=cmd_languages)


def _images_arguments(images: argparse.ArgumentParser) -> None:
    images_sub = images.add_subparsers(dest="images_command", required=True)
    build = images_sub.add_parser("build", help="build language images (all when none named)")
    build.add_argument("languages", nargs="*")
    build.add_argument("--verbose", "-v", action="store_true", help="show the build log")
    build.add_argument("--no-cache", action="store_true", help="rebuild every layer (picks up Debian updates)")
    build.set_defaults(handler=cmd_images_build)


def _doctor_arguments(doctor: argparse.ArgumentParser) -> None:
    doctor.add_argument("--languages", nargs="*", help="only check these language images")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)


def _secret_arguments(secret: argparse.ArgumentParser) -> None:
    secret_sub = secret.add_subparsers(dest="secret_command", required=True)
    secret_init = secret_sub.add_parser("init", help="create the signing key file if it is missing")
    secret_init.set_defaults(handler=cmd_secret_init)


def _token_arguments(token: argparse.ArgumentParser) -> None:
    token.add_argument("--sub", required=True, help="the subject (who the token is for)")
    token.add_argument("--scope", default="submit,read", help="comma-separated: submit, read, admin")
    token.add_argument("--ttl", default="1h", help="lifetime: seconds, or 15m, 1h, 7d")
    token.set_defaults(handler=cmd_token)


def _worker_arguments(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--languages", nargs="*", help="serve only these (default: every image on this host)")
    worker.add_argument("--slots", type=int, help="concurrent sandboxes (default KODEWAR_WORKER_SLOTS or 2)")
    worker.add_argument("--metrics-port", type=int, help="Prometheus port on the metrics host; 0 disables")
    worker.set_defaults(handler=cmd_worker)


def _api_arguments(api: argparse.ArgumentParser) -> None:
    api.add_argument("--bind", help="address:port (default KODEWAR_API_BIND or 127.0.0.1:8000)")
    api.set_defaults(handler=cmd_api)


def _up_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (default 8000)")
    up.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    up.add_argument("--slots", type=int, help="sandboxes per worker (default KODEWAR_WORKER_SLOTS or 2)")
    up.add_argument("--redis-port", type=int, default=6389, help="Redis port on 127.0.0.1 (default 6389)")
    up.add_argument(
        "--metrics-port",
        type=int,
        help="first worker's Prometheus port, the next ones count up (default 9191); 0 turns it off",
    )
    up.add_argument("--languages", nargs="*", help="serve only these (default: every image on this host)")
    up.set_defaults(handler=cmd_up)


def _submit_arguments(submit: argparse.ArgumentParser) -> None:
    add_submission_arguments(submit)
    submit.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the verdict (default 600)")
    _add_client_options(submit)
    submit.set_defaults(handler=cmd_submit)


def _status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("submission_id")
    status.add_argument("--wait", action="store_true", help="wait for the verdict, showing progress")
    status.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits (default 600)")
    _add_client_options(status)
    status.set_defaults(handler=cmd_status)


def _workers_arguments(workers: argparse.ArgumentParser) -> None:
    _add_client_options(workers)
    workers.set_defaults(handler=cmd_workers)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "run": ("run one submission in the sandbox on this machine", _run_arguments),
    "languages": ("list languages, versions and commands", _languages_arguments),
    "images": ("manage sandbox images", _images_arguments),
    "doctor": ("check that this host enforces every sandbox limit", _doctor_arguments),
    "secret": ("manage the JWT signing key", _secret_arguments),
    "token": ("print a JWT signed with the configured key", _token_arguments),
    "worker": ("run a queue worker (checks the host with doctor first)", _worker_arguments),
    "api": ("serve the HTTP API with gunicorn", _api_arguments),
    "up": ("run the whole stack here (Redis, API, workers) until Ctrl-C", _up_arguments),
    "submit": ("send a submission to the API and wait for its verdict", _submit_arguments),
    "status": ("show a submission (its verdict once it has one)", _status_arguments),
    "workers": ("list live workers: languages, busy slots, last heartbeat", _workers_arguments),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for argv: only the named command is set up when argv names one (each sub-parser
    costs ~0.4 ms, mostly gettext lookups: `kodewar run` pays for its own alone); all of them for
    `kodewar --help`, no command or an unknown one."""
    parser = argparse.ArgumentParser(prog="kodewar", description="KodeWar: run untrusted code in rootless Podman.")
    sub = parser.add_subparsers(dest="command", required=True)
    named = next(iter(sys.argv[1:] if argv is None else argv), None)
    for name, (help_text, configure) in COMMANDS.items():
        if named in COMMANDS and name != named:
            continue
        configure(sub.add_parser(name, help=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
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


def entry() -> None:
    """The console script. `kodewar run` leaves without the interpreter's teardown, ~10 ms of module
    cleanup (a twentieth of a hello world) with nothing left to clean: its container is removed and its
    files closed by then. Other commands exit normally (they may hold threads and atexit hooks)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `kodewar ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_FAILED
    if sys.argv[1:2] != ["run"]:
        sys.exit(code)
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
