"""The `notifier` command line: parses arguments and hands over to the module that owns the work.

Thin on purpose: no logic here beyond choosing what runs and mapping errors to exit codes
(0 success, 2 usage or configuration error, 1 anything else).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from notifier import __version__
from notifier.config import Config, ConfigError, load_config
from notifier.logs import setup_logging
from notifier.store.protocol import StoreError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger("notifier")

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notifier",
        description="Emails IPS job submitters when their jobs change state, in their language.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "-c",
            "--config",
            metavar="FILE",
            help="TOML file (default: $NOTIFIER_CONFIG, then /etc/notifier/notifier.toml)",
        )
        return p

    with_config(command("run", _run, "run the daemon in the foreground"))
    once = with_config(command("once", _once, "one poll, diff and delivery round, then exit"))
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="print the events and the emails they would send; record and send nothing",
    )
    check = with_config(command("check-config", _check_config, "validate the configuration"))
    check.add_argument("--connect", action="store_true", help="also log in to IPS and to SMTP")
    preview = command("preview", _preview, "render a sample email; no configuration needed")
    preview.add_argument("--event", required=True, metavar="KIND")
    preview.add_argument("--outcome", metavar="O", help="for --event finished")
    preview.add_argument("--locale", default="en", metavar="L", help="e.g. ja-JP, pt-BR")
    preview.add_argument("--format", default="text", choices=["text", "html", "eml"])
    send_test = with_config(
        command("send-test", _send_test, "send a sample email through the configured relay")
    )
    send_test.add_argument("--to", required=True, metavar="ADDRESS", help="who gets it")
    send_test.add_argument(
        "--locale", metavar="L", help="its language, e.g. ja-JP (default: notify.default_locale)"
    )
    send_test.add_argument(
        "--event", default="finished", metavar="KIND", help="which email (default: finished)"
    )
    outbox = with_config(command("outbox", _outbox, "list, retry or drop deliveries"))
    outbox.add_argument("action", nargs="?", default="list", choices=["list", "retry", "drop"])
    outbox.add_argument("id", nargs="?", type=int, help="delivery id for retry and drop")
    deploy = command(
        "deploy-files",
        _deploy_files,
        "list, print or write the installation files the wheel carries",
    )
    deploy.add_argument("name", nargs="?", metavar="NAME", help="print this file to stdout")
    deploy.add_argument("--write", metavar="DIR", help="write every file under DIR")
    deploy.add_argument("--force", action="store_true", help="with --write: replace files")
    store = with_config(command("store", _store, "copy the SQLite store into PostgreSQL"))
    store.add_argument("action", choices=["copy"])
    store.add_argument(
        "--from", dest="source", metavar="PATH", help="the SQLite file (default: store.path)"
    )
    store.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user@host:5432/db, no password in it: that comes from "
        "NOTIFIER_STORE_PASSWORD, the credential store-password or store.password_file",
    )
    sim = command("sim", _sim, "run the IPS simulator on loopback")
    # The simulator's credentials (notifier.sim.DEFAULT_USER, DEFAULT_PASSWORD; a test keeps
    # these the same): spelled out here so that --help does not load the simulator.
    sim.epilog = (
        'It accepts the IPS user "demo@example.com" with the password "demo", and lists '
        'companies "47", "48" and "49"; it prints the [ips] lines to use when it starts.'
    )
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--jobs", type=int, default=10, help="jobs the scenario keeps going")
    sim.add_argument("--tick", type=float, default=1.0, help="seconds per scenario step")
    demo = command("demo", _demo, "simulator + SMTP sink + daemon: watch emails arrive")
    demo.add_argument("--out", default="demo-mail", help="folder for the .eml files")
    demo.add_argument("--seed", type=int, default=7)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"notifier: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        # A store that is missing, locked by a daemon or unwritable: the message says which.
        log.error("%s", exc)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`notifier outbox list | head`): not worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.log.level.value, config.log.format.value)
    return config


def _asyncio(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


def _run(args: argparse.Namespace) -> int:
    from notifier import daemon

    config = _config(args)
    try:
        return _asyncio(daemon.run(config))
    except daemon.StartupError as exc:
        log.error("%s", exc)
        return EXIT_FAILURE


def _once(args: argparse.Namespace) -> int:
    from notifier import daemon, dryrun

    config = _config(args)
    if args.dry_run:
        return _asyncio(dryrun.dry_run(config, sys.stdout))
    return _asyncio(daemon.once(config))


def _check_config(args: argparse.Namespace) -> int:
    from notifier.checks import check_config

    config = _config(args)
    return _asyncio(check_config(config, connect=args.connect, out=sys.stdout))


def _preview(args: argparse.Namespace) -> int:
    from notifier.mail.preview import preview

    try:
        text = preview(args.event, args.outcome, args.locale, args.format)
    except ValueError as exc:
        print(f"notifier preview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def _send_test(args: argparse.Namespace) -> int:
    from notifier.sendtest import SendTestUsageError, send_test

    config = _config(args)
    try:
        return _asyncio(send_test(config, args.to, args.locale, args.event, sys.stdout))
    except SendTestUsageError as exc:
        print(f"notifier send-test: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _outbox(args: argparse.Namespace) -> int:
    from notifier.outbox import command
    from notifier.store.open import require_usable

    config = _config(args)
    if args.action != "list" and args.id is None:
        print(f"notifier outbox {args.action}: give the delivery ID", file=sys.stderr)
        return EXIT_USAGE
    if not config.store.is_postgres:
        require_usable(config.store.path)
        log.info("store %s (outbox %s)", config.store.path, args.action)
    return _asyncio(command(config, args.action, args.id, sys.stdout))


def _deploy_files(args: argparse.Namespace) -> int:
    from pathlib import Path

    from notifier import deployfiles

    try:
        if args.write:
            return deployfiles.write_all(Path(args.write), force=args.force, out=sys.stdout)
        if args.name:
            return deployfiles.show(args.name, sys.stdout)
        return deployfiles.list_files(sys.stdout)
    except deployfiles.DeployFilesError as exc:
        print(f"notifier deploy-files: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"notifier deploy-files: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURE


def _store(args: argparse.Namespace) -> int:
    from pathlib import Path

    from notifier.config.schema import Invalid, store_url
    from notifier.store.postgres.copy import copy_to_postgres
    from notifier.store.postgres.target import PostgresTarget
    from notifier.store.protocol import StoreError

    config = _config(args)
    try:
        url = store_url(args.to)
    except Invalid as exc:
        print(f"notifier store copy: --to: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not url:
        print("notifier store copy: --to: give the PostgreSQL URL", file=sys.stderr)
        return EXIT_USAGE
    source = Path(args.source) if args.source else config.store.path
    target = PostgresTarget(url, config.store.password.reveal())
    try:
        report = asyncio.run(copy_to_postgres(source, target))
    except StoreError as exc:
        log.error("%s", exc)
        return EXIT_FAILURE
    print(report.summary())
    return EXIT_OK


def _sim(args: argparse.Namespace) -> int:
    from notifier.sim import run_forever

    setup_logging("info")
    asyncio.run(run_forever("127.0.0.1", args.port, args.seed, jobs=args.jobs, tick=args.tick))
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from notifier.demo import run_demo

    return _asyncio(run_demo(out_dir=args.out, seed=args.seed))
