"""Typed exceptions. Each message says what happened, what was expected and how to fix it.

The CLI turns any :class:`StriateError` into one line on stderr and exit code 2.
"""

import difflib


class StriateError(Exception):
    """Base class of every error striate raises on bad input or a failed run."""


class ConfigError(StriateError):
    """A recipe, a flag or a configuration value is wrong."""


class DataError(StriateError):
    """A data file or folder is missing, unreadable, corrupt or inconsistent."""


class ModelError(StriateError):
    """A model name is unknown, or a network cannot be built with the given shapes."""


class RunError(StriateError):
    """A run directory is missing, incomplete or unreadable."""


class TrainingDivergedError(StriateError):
    """The loss became NaN or infinite during training."""


def did_you_mean(name: str, choices) -> str:
    """Return ' (did you mean 'x'?)' for the nearest of ``choices``, or ''.

    >>> did_you_mean("lenet", ["lenet5", "mlp"])
    " (did you mean 'lenet5'?)"
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


class ExportError(StriateError):
    """A model cannot be exported, or the exported file does not match PyTorch."""


def clip(text, limit: int = 200) -> str:
    """``str(text)`` on one line and at most ``limit`` characters (its middle cut to ' ... '), for quoting
    another library's error message inside ours.

    >>> clip("a" * 10 + "b" * 10, limit=15)
    'aaaaa ... bbbbb'
    """
    text = " ".join(str(text).splitlines())
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 2)
    return text[: keep - keep // 2] + " ... " + text[len(text) - keep // 2 :]


def short(value, limit: int = 80) -> str:
    """A repr of ``value`` of at most ``limit`` characters, for messages that quote untrusted input
    (a file's header, a JSON value): long values keep their start and end around ' ... '.

    >>> short("x" * 200, limit=20)
    "'xxxxxxx ... xxxxxx'"
    """
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = shortener.maxlong = limit + 20
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 8
    try:
        text = " ".join(shortener.repr(value).splitlines())
    except Exception:  # noqa: BLE001 - e.g. an int too long to print; the type is enough then
        text = f"<a {type(value).__name__}>"
    return clip(text, limit)
