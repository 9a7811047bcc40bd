"""The bench scripts say in one line what is missing when run outside the dev environment,
instead of a traceback (scripts/benchenv.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
BENCHES = sorted(SCRIPTS.glob("bench_*.py"))
HINT = "run scripts/test once, or pip install -e .[dev]"


def load_benchenv():
    spec = importlib.util.spec_from_file_location("benchenv", SCRIPTS / "benchenv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (this interpreter, on the repository's scripts)
        [sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=SCRIPTS.parent
    )


def assert_one_line(done: subprocess.CompletedProcess, script: Path, module: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"{script.name}: the module {module!r} is not installed: {HINT}"
    ]


def test_there_are_bench_scripts():
    assert len(BENCHES) >= 6


@pytest.mark.parametrize("script", BENCHES, ids=lambda p: p.name)
def test_without_site_packages_a_bench_names_the_missing_module_in_one_line(script):
    # -S: no site-packages at all, as with a system Python that never saw the venv.
    done = run(["-S", str(script), "--help"])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"{script.name}: the module ") and line.endswith(HINT)


def test_a_dev_extra_needed_later_is_checked_before_any_work():
    """consistent_sampler (a dev extra) is imported only when the bench reaches the sampler;
    the script says so at once instead of failing after minutes of setup."""
    script = SCRIPTS / "bench_draw.py"
    runner = (
        "import runpy, sys\n"
        "sys.modules['consistent_sampler'] = None\n"  # what an uninstalled module looks like
        f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
        f"sys.argv = [{str(script)!r}, '--entities', '1000', '--no-e2e']\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    done = run(["-c", runner])
    assert_one_line(done, script, "consistent_sampler")
    assert done.stdout == ""  # nothing was measured


def test_a_broken_module_of_the_project_keeps_its_traceback():
    benchenv = load_benchenv()
    with pytest.raises(ModuleNotFoundError), benchenv.requirements():
        raise ModuleNotFoundError(
            "No module named 'shuangsuiji.nowhere'", name="shuangsuiji.nowhere"
        )
    with pytest.raises(SystemExit) as exit_, benchenv.requirements():
        raise ModuleNotFoundError("No module named 'somewhere'", name="somewhere")
    assert exit_.value.code == 2
