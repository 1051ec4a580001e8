"""The version of striate, in one place: ``striate.__version__``, the CLI's ``--version`` and the
package metadata (pyproject.toml reads it from here) all come from this module, which imports nothing."""

__version__ = "0.1.0"
