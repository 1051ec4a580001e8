"""Helpers shared by the sub-commands: recipes plus ``--key value`` overrides, tables, JSON."""

import contextlib
import json
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from striate.errors import ConfigError

if TYPE_CHECKING:
    from striate.training.config import Config

# The sub-commands register their parsers through this module: it imports no torch (``striate --help``,
# ``--version`` and argument errors stay fast); the config machinery is imported where it is used.
DEFAULT_RECIPE = "lenet5-mnist"  # striate.session.config.DEFAULT_RECIPE (tests/cli checks they agree)


def find_default_recipe() -> Path | None:
    """The shipped recipes/lenet5-mnist.yaml (the same file in a checkout and in an installed wheel)."""
    from striate.recipes import find_recipe

    return find_recipe(DEFAULT_RECIPE)


def parse_overrides(extra: list[str]) -> list[tuple[str, object]]:
    """['--optim.lr', '0.1', '--epochs=3'] -> [('optim.lr', 0.1), ('epochs', 3)]."""
    from striate.training.config import parse_override

    pairs, index = [], 0
    while index < len(extra):
        token = extra[index]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"unexpected argument '{token}'; overrides look like --key value (e.g. --optim.lr 0.1)")
        key = token[2:]
        if "=" in key:
            key, text = key.split("=", 1)
            index += 1
        elif index + 1 < len(extra) and not extra[index + 1].startswith("--"):
            text = extra[index + 1]
            index += 2
        else:
            text = "true"
            index += 1
        key = key.replace("-", "_")
        pairs.append((key, parse_override(key, text)))
    return pairs


def split_recipe(arguments: list[str]) -> tuple[str | None, list[str]]:
    """['r.yaml', '--lr', '0.1'] -> ('r.yaml', ['--lr', '0.1']); a first token that is a flag means no recipe."""
    if arguments and not arguments[0].startswith("-"):
        return arguments[0], arguments[1:]
    return None, list(arguments)


def resolve_config(recipe: str | None, extra: list[str]) -> tuple["Config", str]:
    """The recipe (or the default one) with the flags applied and every setting checked (``validate``: a bad
    value is a ConfigError before anything is read or written); returns the config and the recipe's name."""
    from striate.training.config import Config, set_value

    pairs = parse_overrides(extra)
    for key, value in pairs:  # an unknown key or a value of the wrong type is refused before torch is imported
        set_value(Config(), key, value)
    from striate.session.config import resolve_config as resolve

    path = Path(recipe) if recipe else find_default_recipe()
    config, name = resolve(path, pairs)
    return config, name if recipe else DEFAULT_RECIPE


def refuse_overrides(args, takers: str = "") -> None:
    """Reject ``--key value`` recipe keys given to a sub-command that takes none; ``takers`` names the
    sub-commands that do take them, for the message (e.g. "only 'data preview' takes recipe keys")."""
    if args.overrides:
        hint = f"; {takers}" if takers else "; this command takes no recipe keys"
        raise ConfigError(f"unexpected arguments {' '.join(args.overrides)}{hint}")


def print_json(value) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)  # paths as strings
    sys.stdout.write("\n")


def with_json(action):
    """A sub-command's ``func`` from ``action(args, outcome)``, which prints its text result and fills
    ``outcome``: with ``--json`` its prints go to stderr and ``outcome`` is printed on stdout as JSON."""
    def run(args) -> int:
        outcome = {}
        with results_only(args.json):
            code = action(args, outcome)
        if args.json and outcome:
            print_json(outcome)
        return code

    return run


@contextlib.contextmanager
def results_only(enabled: bool):
    """With ``--json`` (``enabled``), what the work prints meanwhile (progress, notes, the text result) goes to
    stderr, so that stdout holds the JSON alone (``striate train --json | jq .test_accuracy``)."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def print_table(headers: list[str], rows: list[list], stream=None) -> None:
    """A plain aligned text table."""
    stream = stream or sys.stdout
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(w) if index and _numeric(cell) else cell.ljust(w) for cell, w in zip(row, widths)).rstrip(),
              file=stream)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=stream)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("%", "").replace("-", "").isdigit()
