"""The systemd units in config/systemd run commands that exist, and systemd accepts them."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shuangsuiji.cli.commands import main

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "config" / "systemd"
VENV_BIN = "/opt/shuangsuiji/.venv/bin/"


def _service(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser["Service"]


def test_every_process_of_the_service_has_a_unit_that_restarts_it():
    commands = {}
    for path in sorted(UNITS.glob("*.service")):
        service = _service(path)
        assert service["Restart"] == "always", path.name
        assert service["KillSignal"] == "SIGTERM", path.name
        commands[path.name] = service["ExecStart"].split()
    programs = {
        tuple(argv[:3]) if argv[0].endswith("/shuangsuiji") else argv[0]
        for argv in commands.values()
    }
    assert programs == {
        VENV_BIN + "gunicorn",
        (VENV_BIN + "shuangsuiji", "worker", "run"),
        (VENV_BIN + "shuangsuiji", "scheduler", "run"),
        (VENV_BIN + "shuangsuiji", "outbox", "run"),
    }
    for argv in commands.values():
        if argv[0].endswith("/shuangsuiji"):
            assert argv[2] in main.commands[argv[1]].commands  # a command that exists
        else:
            config, app = argv[argv.index("-c") + 1], argv[-1]
            assert (ROOT / config).is_file() and app == "wsgi:app"
    wanted = (UNITS / "shuangsuiji.target").read_text()
    for name in commands:
        assert name.replace("@.", "@1.") in wanted


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify`, with the paths pointed at this checkout and its virtualenv."""
    venv_bin = str(Path(sys.executable).parent) + "/"
    for path in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = path.read_text().replace(VENV_BIN, venv_bin).replace("/opt/shuangsuiji", str(ROOT))
        (tmp_path / path.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
