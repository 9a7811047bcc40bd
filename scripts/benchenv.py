"""What every bench script needs before it starts: the repository on sys.path, and one clear
line, instead of a traceback, when it runs outside the dev environment.

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # implicit when run as a script
    import benchenv

    with benchenv.requirements("consistent_sampler"):  # modules imported later, lazily
        from sqlalchemy import text
        from shuangsuiji.db import Database
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HINT = "run scripts/test once, or pip install -e .[dev]"
MISSING_EXIT = 2

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def missing(module: str) -> None:
    """Say in one line that `module` is not installed and how to get it; exit with status 2."""
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "bench"
    print(f"{script}: the module {module!r} is not installed: {HINT}", file=sys.stderr)
    raise SystemExit(MISSING_EXIT)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a None in sys.modules
        return False


def require(*modules: str) -> None:
    """Exit with `missing` unless every one of `modules` can be imported (checked, not imported:
    for what a script imports later, e.g. only when an option asks for it)."""
    for module in modules:
        if not _installed(module):
            missing(module)


@contextlib.contextmanager
def requirements(*lazy: str) -> Iterator[None]:
    """`require(*lazy)`, then run the block of a script's imports: a third-party module missing
    there ends the script with `missing`. A module of shuangsuiji itself that cannot be
    imported is a bug, and keeps its traceback."""
    require(*lazy)
    try:
        yield
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if not name or name.partition(".")[0] == "shuangsuiji":
            raise
        missing(name)
