"""The `postroom` console script's entry point, importing the command line only when called.

Parse worker processes are spawned (services/parse_pool.py), and a spawned process first
runs the parent's main script again as `__mp_main__` (its `__main__` guard keeps it from
doing anything). pip's script for `postroom` imports its entry point's module at the top:
were that `postroom.cli`, every parse worker would import the whole application (web, API,
SQLAlchemy models: about 3.7 CPU-seconds each on these machines) instead of the parsing
modules it needs (about 0.1). So the script imports this module, which imports nothing.
"""

from __future__ import annotations


def run() -> None:
    from postroom.cli import run as run_command_line

    run_command_line()
