"""`shuangsuiji draw verify BUNDLE.zip`: re-run a draw from its bundle alone.

Kept apart from the rest of the command line (no Flask, no database, no configuration), so an
auditor's machine needs only the package and the bundle, and the check starts at once.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click

from ..domain import bundle as srdp_bundle
from ..domain import chain
from ..domain import verify as srdp_verify

_SHOWN = 6  # differences listed after a changed input file (the rest follow from it)


def file_problems(files: dict[str, bytes]) -> list[str]:
    """Which input file departs from the SHA256SUMS in the bundle (zh-CN, one line each)."""
    listed = {}
    for line in files[srdp_verify.SUMS].decode("ascii", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    problems = []
    for name in srdp_bundle.FILES:
        actual = hashlib.sha256(files[name]).hexdigest()
        if name not in listed:
            problems.append(f"{name}：SHA256SUMS 中没有这个文件")
        elif listed[name] != actual:
            problems.append(f"{name}：内容与 SHA256SUMS 不符（记载 {listed[name]}，实际 {actual}）")
    return problems


@click.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--chain-tip",
    metavar="HEX",
    help="周期任务启用时公布的哈希链顶端（/public/plans）：与数据包中 chain.json 的链顶比对",
)
def verify_command(path, chain_tip):
    """Re-run a draw from its bundle alone and compare every field of its manifest
    (no database, no configuration). A batch of a recurring plan: its revealed server value
    must lead to the chain tip published at activation (chain.json, SRDP-1 §3.3). Exit status
    1 when anything differs."""
    try:
        files, manifest = srdp_verify.read_zip(path)
    except srdp_verify.UnreadableBundle as exc:
        raise click.ClickException(f"无法读取数据包：{exc}") from exc
    changed = file_problems(files)
    problems = srdp_verify.verify(files, manifest, published_tip=chain_tip)
    if changed or problems:
        click.echo(f"复核未通过：发现 {len(changed) + len(problems)} 处不一致")
        for problem in changed:
            click.echo(f"- {problem}")
        if changed and problems:
            click.echo("由于上述输入文件被改动，重新计算的结果与清单（manifest.json）有以下差异：")
        shown = problems if not changed else problems[:_SHOWN]
        for problem in shown:
            click.echo(f"- {problem}")
        if len(shown) < len(problems):
            click.echo(f"……另有 {len(problems) - len(shown)} 处由此引起的差异")
        sys.exit(1)
    assignment = manifest["assignment"]
    click.echo(
        "复核通过：由数据包重新计算的种子、抽中名单和人员分配与清单（manifest.json）完全一致。"
    )
    click.echo(f"数据包编号 plan_id      {manifest['plan_id']}")
    click.echo(f"快照摘要 snapshot_sha256 {manifest['snapshot_sha256']}")
    click.echo(f"种子 seed               {manifest['seed']}")
    click.echo(f"名单摘要 sample_sha256   {manifest['sample_sha256']}")
    click.echo(f"分配摘要 assignment_sha256 {manifest['assignment_sha256']}")
    click.echo(
        f"抽中 {len(manifest['sample'])} 户；岗位已配齐 {len(assignment['rows'])} 个，"
        f"未配齐 {len(assignment['unstaffed'])} 个；人员替换 "
        f"{len(manifest.get('replacements', []))} 次"
    )
    if chain.CHAIN_FILE in files:
        link = chain.parse(files[chain.CHAIN_FILE])
        checked = "，与所给的公布值一致" if chain_tip else "（请与 /public/plans 公布的链顶比对）"
        click.echo(
            f"哈希链 第 {link.index}/{link.length} 批（{link.batch_key}）：揭示的服务器密值连续做 "
            f"{link.index} 次 SHA-256 得到链顶 {link.tip}{checked}"
        )
    click.echo("SHA256SUMS:")
    click.echo(files[srdp_verify.SUMS].decode("ascii"), nl=False)
