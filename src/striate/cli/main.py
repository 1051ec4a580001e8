"""``striate``: the command-line entry point.

Every ``striate.cli.cmd_*`` module adds its sub-command through ``register(subparsers)``
and sets ``func``. A :class:`StriateError` becomes one line on stderr and exit code 2. Results go to
stdout; progress lines and notes through the ``striate`` logger (striate.console), which ``-q`` silences
and ``-v`` makes more detailed, before or after the sub-command (``striate -q train``, ``striate train -q``).
"""

import argparse
import importlib
import pkgutil
import sys

from striate.console import NORMAL, QUIET, VERBOSE, verbosity
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


def add_verbosity(parser: argparse.ArgumentParser, default=NORMAL) -> None:
    """-v/--verbose and -q/--quiet: what the console shows besides results and errors (striate.console)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE, default=default,
                       help="also print details (what is read, written and chosen)")
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET, default=default,
                       help="print results, warnings and errors only: no progress lines or notes")


def _sub_parsers(parser: argparse.ArgumentParser):
    """Every sub-command's parser, nested ones included (striate transfer finetune)."""
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _sub_parsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="striate", description="Convolutional neural networks on images.")
    parser.add_argument("--version", action="version", version=f"striate {__version__}")
    add_verbosity(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("striate.cli")
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cmd_")):
        importlib.import_module(f"striate.cli.{module}").register(subparsers)
    for sub in _sub_parsers(parser):  # 'striate train -q' as well as 'striate -q train'
        add_verbosity(sub, default=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    with verbosity(args.verbosity):  # the console's settings for this command only
        return _run(parser, args, extra)


def _run(parser: argparse.ArgumentParser, args, extra: list[str]) -> int:
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
