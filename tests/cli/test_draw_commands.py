"""`shuangsuiji plan commit`, `draw run`, `draw bundle` and `draw verify`; a bundle downloaded from
the API checks out with the verifier, with consistent_sampler, and with VERIFY.md's script."""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import consistent_sampler
import pytest
from click.testing import CliRunner

from shuangsuiji.cli import main
from shuangsuiji.services.plans import draws

from .. import draw_world, factories
from ..conftest import csrf_token, login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def drawn(session, world, registry):
    draw = factories.DrawFactory(actor=world["admin_a"], commitment__plan__code="PLAN-001")
    session.commit()
    return draw


def _bundle(session, world, draw, tmp_path) -> Path:
    _, data = draws.bundle_zip(session, world["auditor"], draw.id)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return path


def _rewrite(path: Path, change) -> Path:
    """A copy of the bundle with `change(files)` applied (files: name → bytes)."""
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    change(files)
    out = path.with_name("tampered.zip")
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def _verify(path: Path):
    """`shuangsuiji draw verify` as a plain click call: no app, no database."""
    return CliRunner().invoke(main, ["draw", "verify", str(path)])


def test_verify_a_good_bundle(session, world, drawn, tmp_path):
    result = _verify(_bundle(session, world, drawn, tmp_path))
    assert result.exit_code == 0, result.output
    assert "复核通过" in result.output and drawn.seed in result.output
    assert drawn.sample_sha256 in result.output and drawn.assignment_sha256 in result.output


def test_verify_names_a_changed_line_of_entities(session, world, drawn, tmp_path):
    def change(files):
        lines = files["entities.tsv"].decode().splitlines(keepends=True)
        uscc, stratum, region = lines[0].rstrip("\n").split("\t")
        other = next(c for c in draw_world.COUNTIES if c != region)
        lines[0] = f"{uscc}\t{stratum}\t{other}\n"
        files["entities.tsv"] = "".join(lines).encode()

    result = _verify(_rewrite(_bundle(session, world, drawn, tmp_path), change))
    assert result.exit_code == 1
    assert "复核未通过" in result.output
    assert "entities.tsv：内容与 SHA256SUMS 不符" in result.output


def test_verify_names_a_swapped_inspector(session, world, drawn, tmp_path):
    def change(files):
        manifest = json.loads(files["manifest.json"])
        rows = manifest["assignment"]["rows"]
        j = next(i for i, r in enumerate(rows) if r["inspector_id"] != rows[0]["inspector_id"])
        rows[0]["inspector_id"], rows[j]["inspector_id"] = (
            rows[j]["inspector_id"],
            rows[0]["inspector_id"],
        )
        files["manifest.json"] = json.dumps(manifest).encode()

    result = _verify(_rewrite(_bundle(session, world, drawn, tmp_path), change))
    assert result.exit_code == 1
    assert "assignment.rows[0]" in result.output


def test_verify_needs_no_database_or_config(session, world, drawn, tmp_path):
    path = _bundle(session, world, drawn, tmp_path)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "SHUANGSUIJI_ENV": "production",  # no secret key, no database: start-up would refuse
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from shuangsuiji.cli import run; run()", "draw", "verify", path],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "复核通过" in done.stdout


def test_commit_run_and_bundle_from_the_command_line(app, session, world, tmp_path, registry):
    factories.PlanFactory(actor=world["admin_a"], code="CLI-1")
    session.commit()
    runner = app.test_cli_runner()
    committed = runner.invoke(main, ["plan", "commit", "CLI-1", "--as", "admin_a"])
    assert committed.exit_code == 0, committed.output
    assert "快照摘要" in committed.output and "entities.tsv" in committed.output
    short = runner.invoke(
        main, ["draw", "run", "CLI-1", "--digits", "123", "--witness", "张三", "--as", "admin_a"]
    )
    assert short.exit_code == 1 and "骰子数字" in short.output
    ran = runner.invoke(
        main,
        ["draw", "run", "CLI-1", "--digits", "31415926535897932384"]
        + ["--witness", "张三", "--witness", "李四", "--as", "admin_a"],
    )
    assert ran.exit_code == 0, ran.output
    seed = re.search(r"种子 S = ([0-9a-f]{64})", ran.output).group(1)
    assert re.search(r"^A\s+\d+\s+\d+\s+0\.\d+", ran.output, re.M)
    draw_id = int(re.search(r"抽取结果 #(\d+)", ran.output).group(1))
    out = tmp_path / "cli.zip"
    bundled = runner.invoke(main, ["draw", "bundle", str(draw_id), "-o", str(out), "--as", "audit"])
    assert bundled.exit_code == 0, bundled.output
    result = _verify(out)
    assert result.exit_code == 0 and seed in result.output


def _check_sample_script() -> str:
    text = (ROOT / "VERIFY.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- check_sample.py: begin -->\n```python\n(.*?)```\n<!-- check_sample.py: end -->",
        text,
        re.S,
    )
    return block.group(1)


def test_bundle_from_the_api_checks_out_three_ways(app, session, world, drawn, tmp_path):
    client = app.test_client()
    login(client, "audit")
    csrf_token(client, "/console/tokens")
    response = client.get(f"/api/v1/draws/{drawn.id}/bundle")
    assert response.status_code == 200
    path = tmp_path / "from-api.zip"
    path.write_bytes(response.data)

    # 1. The project's verifier, from the bundle alone.
    assert _verify(path).exit_code == 0

    # 2. consistent_sampler reproduces each stratum's sample (SRDP-1 §5.3).
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entities = archive.read("entities.tsv").decode()
    ids: dict[str, list[str]] = {}
    for line in entities.splitlines():
        entity_id, stratum, _ = line.split("\t")
        ids.setdefault(stratum, []).append(entity_id)
    assert sum(s["k"] for s in manifest["strata"]) > 0
    for s in manifest["strata"]:
        theirs = list(
            consistent_sampler.sampler(
                ids.get(s["code"], []),
                seed=manifest["seed"],
                take=s["k"],
                output="tuple",
                digits=18,
            )
        )
        ours = [
            (r["ticket"], r["entity_id"], 1)
            for r in manifest["sample"]
            if r["stratum"] == s["code"]
        ]
        assert theirs == ours, s["code"]

    # 3. VERIFY.md's standalone script agrees, and notices a tampered bundle.
    script = tmp_path / "check_sample.py"
    script.write_text(_check_sample_script(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK")

    def drop_one_drawn(files):
        data = json.loads(files["manifest.json"])
        data["sample"].pop()
        files["manifest.json"] = json.dumps(data).encode()

    tampered = _rewrite(path, drop_one_drawn)
    done = subprocess.run(
        [sys.executable, str(script), str(tampered)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "DIFFERENT" in done.stdout


def test_public_page_commands_reproduce_the_snapshot_and_seed(
    client, session, world, tmp_path, registry
):
    draw = factories.DrawFactory(
        actor=world["admin_a"],
        commitment__plan__code="PLAN-001",
        commitment__plan__publish_mode="immediate",
    )
    commitment = draw.commitment
    session.commit()
    page = html.unescape(client.get(f"/public/draws/{draw.id}").get_data(as_text=True))
    commands = re.findall(r'<pre class="cmd">(printf .*?)</pre>', page, re.S)
    sums_command, seed_command = commands
    done = subprocess.run(
        ["bash", "-c", sums_command], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.stdout.split()[0] == commitment.snapshot
    done = subprocess.run(["bash", "-c", seed_command], capture_output=True, text=True, timeout=60)
    assert done.stdout.split()[0] == draw.seed


@pytest.fixture
def batch_bundle(session, db, world, tmp_path):
    """The bundle of the second monthly batch of a recurring plan (its chain link 2)."""
    from shuangsuiji.scheduler import batch_jobs

    from ..recur_world import TIMING, active_plan, beijing

    registry = draw_world.populate(session, world["a"])
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 2, 1, 9, 30), timing=TIMING)
    draw = draws.current_draw(session, plan)
    assert draw.batch_key == "2027-02"
    return plan, _bundle(session, world, draw, tmp_path)


def _revealed(files: dict[str, bytes]) -> str:
    manifest = json.loads(files["manifest.json"])
    return next(e["value"] for e in manifest["randomness"] if e["kind"] == "server")


def test_a_batch_bundle_carries_its_chain_link_and_verifies(batch_bundle):
    plan, path = batch_bundle
    with zipfile.ZipFile(path) as archive:
        link = json.loads(archive.read("chain.json"))
    assert (link["chain_tip"], link["index"], link["length"]) == (plan.chain_tip, 2, 12)
    result = CliRunner().invoke(main, ["draw", "verify", str(path), "--chain-tip", plan.chain_tip])
    assert result.exit_code == 0, result.output
    assert "第 2/12 批（2027-02）" in result.output and "与所给的公布值一致" in result.output


def test_a_tampered_revealed_server_value_fails_the_chain_check(batch_bundle):
    _, path = batch_bundle

    def change(files):
        manifest = json.loads(files["manifest.json"])
        for entry in manifest["randomness"]:
            if entry["kind"] == "server":
                entry["value"] = "f" * 64
        files["manifest.json"] = json.dumps(manifest).encode()

    result = _verify(_rewrite(path, change))
    assert result.exit_code == 1
    assert "does not give the chain tip" in result.output


def test_a_chain_json_naming_another_tip_fails(batch_bundle):
    plan, path = batch_bundle

    def change(files):
        link = json.loads(files["chain.json"])
        link["chain_tip"] = "0" * 64
        files["chain.json"] = json.dumps(link).encode()

    tampered = _rewrite(path, change)
    assert _verify(tampered).exit_code == 1  # the revealed value no longer leads to it
    named = CliRunner().invoke(main, ["draw", "verify", str(path), "--chain-tip", "1" * 64])
    assert named.exit_code == 1 and "is not the published tip" in named.output
