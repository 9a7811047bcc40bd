"""A checking pool whose parent is killed (test_checking_pool_orphans.py runs this module as a
script; its pool processes import it to find `start` and `work`)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_DIR: list[Path] = []


def start(directory: str) -> None:
    _DIR.append(Path(directory))


def work(row_nos: list[int], cells: list[list]) -> tuple[int, int]:
    time.sleep(0.3)  # long enough for the pool to start a second process
    (_DIR[0] / f"{os.getpid()}.pid").write_text("")
    return len(row_nos), 0


def main(directory: str) -> None:
    from shuangsuiji.services.registry.imports import checking

    def raw():
        for i in range(4):
            yield [i], [["x"]]
        (Path(directory) / "ready").write_text("")
        time.sleep(600)  # the parent stays busy reading "the file" until it is killed

    checking.run_pool(
        2, raw(), initializer=start, initargs=(directory,), work=work, count=lambda *_: None
    )


if __name__ == "__main__":
    main(sys.argv[1])
