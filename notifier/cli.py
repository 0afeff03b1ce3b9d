"""The `notifier` command line: parses arguments and hands over to the module that owns the work.

Thin on purpose: no logic here beyond choosing what runs and mapping errors to exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from notifier import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notifier",
        description="Emails IPS job submitters when their jobs change state.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
