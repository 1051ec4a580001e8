"""The command line: the only place that parses strings and wires modules together.

Each ``cmd_*.py`` module defines ``register(subparsers)``; :mod:`striate.cli.main` finds them.
"""
