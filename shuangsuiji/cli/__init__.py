"""The `shuangsuiji` command.

`run` is the console entry point. `draw verify` runs without loading the application (an
auditor's machine has no database or configuration, and the check should start at once);
everything else goes through the Flask command group `main` (cli/commands.py).
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:3] == ["draw", "verify"]:
        from .verify import verify_command

        verify_command(sys.argv[3:], prog_name="shuangsuiji draw verify")
        return
    from .commands import main

    main()


def __getattr__(name: str):
    """`from shuangsuiji.cli import main` loads the command group only when asked for."""
    if name == "main":
        from .commands import main

        return main
    raise AttributeError(name)
