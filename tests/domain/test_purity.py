"""The draw engine stays pure: importing it pulls in no web, database or scheduler library."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ["flask", "sqlalchemy", "marshmallow", "apscheduler", "flask_smorest"]

PROBE = """
import importlib, json, pkgutil, sys
import shuangsuiji.domain as domain
for module in pkgutil.walk_packages(domain.__path__, "shuangsuiji.domain."):
    importlib.import_module(module.name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)))
"""


def test_domain_imports_no_framework():
    done = subprocess.run(
        [sys.executable, "-c", f"FORBIDDEN = {FORBIDDEN!r}\n{PROBE}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(done.stdout) == []
