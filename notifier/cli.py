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
    outbox = with_config(command("outbox", _outbox, "list, retry or drop deliveries"))
    outbox.add_argument("action", nargs="?", default="list", choices=["list", "retry", "drop"])
    outbox.add_argument("id", nargs="?", type=int, help="delivery id for retry and drop")
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
    from notifier.store.protocol import StoreError

    config = _config(args)
    try:
        return _asyncio(daemon.run(config))
    except (StoreError, daemon.StartupError) as exc:
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


def _outbox(args: argparse.Namespace) -> int:
    from notifier.outbox import command

    config = _config(args)
    if args.action != "list" and args.id is None:
        print(f"notifier outbox {args.action}: give the delivery ID", file=sys.stderr)
        return EXIT_USAGE
    return _asyncio(command(config, args.action, args.id, sys.stdout))


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
