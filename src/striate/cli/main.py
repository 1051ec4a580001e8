"""``striate``: the command-line entry point.

Every ``striate.cli.cmd_*`` module adds its sub-command through ``register(subparsers)``
and sets ``func``. A :class:`StriateError` becomes one line on stderr and exit code 2.
"""

import argparse
import importlib
import pkgutil
import sys

from striate.errors import StriateError
from striate.version import __version__

EXIT_BAD_INPUT = 2
MAX_ERROR_LINE = 500  # characters of the one line a StriateError prints


def error_line(command: str, error: BaseException, limit: int = MAX_ERROR_LINE) -> str:
    """``striate COMMAND: error: MESSAGE`` as one line of at most ``limit`` characters: line breaks become
    spaces, and a longer message loses its middle to ' ... ' (its start says what, its end how to fix).

    >>> len(error_line("train", ValueError("x" * 2000)))
    500
    """
    line = " ".join(f"striate {command}: error: {error}".splitlines())
    if len(line) <= limit:
        return line
    keep = limit - len(" ... ")
    return line[: keep - keep // 2] + " ... " + line[len(line) - keep // 2 :]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="striate", description="Convolutional neural networks on images.")
    parser.add_argument("--version", action="version", version=f"striate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("striate.cli")
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cmd_")):
        importlib.import_module(f"striate.cli.{module}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    if extra and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = extra  # '--key value' pairs for commands that take recipe overrides
    try:
        return args.func(args) or 0
    except StriateError as error:
        print(error_line(args.command, error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"striate {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (striate ... | head): stop quietly, as other CLI tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141  # 128 + SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
