#!/usr/bin/env python
"""Bench the file layer (shuangsuiji.tabular) on registry-sized files.

  .venv/bin/python scripts/bench_tabular.py [--rows 1000000] [--xlsx-rows 1000000]

Generates a registry-like list (12 columns), writes it with write_csv and write_xlsx, then
times open_table plus a full iteration of the UTF-8 CSV, a GB18030 copy of it and the XLSX.
Each step runs in its own process so its peak memory is its own. Prints the figures and
writes them to bench-results/tabular.txt.

A million registry rows in UTF-8 come to about 240 MB, over the default 200 MiB upload limit;
the bench reads with `max_bytes` raised so the figures stay comparable, and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements():
    from shuangsuiji import tabular

HEADERS = [
    "统一社会信用代码",
    "企业名称",
    "主体类型",
    "行业代码",
    "行政区划代码",
    "登记机关",
    "管辖单位",
    "片区",
    "成立日期",
    "登记状态",
    "住所",
    "联系电话",
]
WORDS = tuple(
    "华信恒达金鼎宏远瑞丰博通鑫源天成嘉禾永盛中科联创东方新兴明德安泰"[i : i + 2]
    for i in range(0, 32, 2)
)
TRADES = tuple(
    "科技商贸建材餐饮物流医药农业食品服装电子文化环保"[i : i + 2] for i in range(0, 24, 2)
)
TYPES = ["有限责任公司", "股份有限公司", "个体工商户", "农民专业合作社", "个人独资企业"]
STATUSES = ["存续", "在业", "吊销", "注销", "迁出"]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


BENCH_LIMITS = tabular.Limits(max_bytes=2**30)


def registry_rows(count: int, seed: int = 20240506):
    rng = random.Random(seed)
    start = dt.date(1995, 1, 1).toordinal()
    for i in range(count):
        region = f"1310{rng.randrange(1, 99):02d}"
        yield [
            "91" + region + "".join(rng.choices(ALPHABET, k=10)),
            f"廊坊市{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}{TYPES[i % 2]}",
            rng.choice(TYPES),
            f"{rng.choice('ACFGHIL')}{rng.randrange(100, 9999)}",
            region,
            f"廊坊市{rng.choice(['广阳区', '安次区', '三河市', '霸州市'])}市场监督管理局",
            f"{rng.choice(['城区', '开发区', '北旺', '南尖塔'])}市场监督管理所",
            f"第{rng.randrange(1, 40)}网格",
            dt.date.fromordinal(start + rng.randrange(10_000)),
            rng.choice(STATUSES),
            f"河北省廊坊市{rng.choice(WORDS)}路{rng.randrange(1, 999)}号{rng.randrange(1, 30)}层",
            13_000_000_000 + rng.randrange(999_999_999),
        ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, path: Path, rows: int) -> dict:
    started = time.perf_counter()
    if name == "generate":
        count = sum(1 for _ in registry_rows(rows))
    elif name == "write_csv":
        with path.open("wb") as fh:
            count = tabular.write_csv(fh, HEADERS, registry_rows(rows))
    elif name == "write_xlsx":
        count = tabular.write_xlsx(path, HEADERS, registry_rows(rows), sheet_name="名录")
    elif name == "to_gb18030":
        with (
            (path.parent / "registry.utf8.csv").open(encoding="utf-8-sig", newline="") as src,
            path.open("w", encoding="gb18030", newline="") as dst,
        ):
            count = 0
            for count, line in enumerate(src, start=1):  # noqa: B007 - count is the result
                dst.write(line)
    elif name == "zip_check":
        count = len(tabular._check_zip(path, BENCH_LIMITS))
    else:  # read: open_table and consume every row
        table = tabular.open_table(path, filename=path.name, limits=BENCH_LIMITS)
        count = 0
        for _ in table.rows:
            count += 1
        assert table.headers == HEADERS, table.headers
    seconds = time.perf_counter() - started
    return {
        "phase": name,
        "rows": count,
        "seconds": round(seconds, 2),
        "rows_per_s": round(count / seconds) if seconds else None,
        "peak_rss_mb": round(peak_rss_mb()),
        "file_mb": _size(path),
    }


def _size(path: Path) -> float | None:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else None


def run(name: str, path: Path, rows: int) -> dict:
    out = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, __file__, "--phase", name, "--path", str(path), "--rows", str(rows)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"step {name} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=1_000_000)
    parser.add_argument("--phase")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.path), args.rows)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        utf8, gbk, xlsx = work / "registry.utf8.csv", work / "registry.csv", work / "registry.xlsx"
        steps = [
            ("generate rows only (baseline)", "generate", utf8, args.rows),
            ("write_csv", "write_csv", utf8, args.rows),
            ("open_table + iterate, UTF-8 CSV", "read", utf8, args.rows),
            ("(re-encode to GB18030, setup)", "to_gb18030", gbk, args.rows),
            ("open_table + iterate, GB18030 CSV", "read", gbk, args.rows),
            ("write_xlsx", "write_xlsx", xlsx, args.xlsx_rows),
            ("zip check alone (part of open_table)", "zip_check", xlsx, args.xlsx_rows),
            ("open_table + iterate, XLSX", "read", xlsx, args.xlsx_rows),
        ]
        lines = [
            f"shuangsuiji.tabular bench, {dt.datetime.now():%Y-%m-%d %H:%M}, Python "
            f"{sys.version.split()[0]}; {args.rows:,} CSV rows, {args.xlsx_rows:,} XLSX rows, "
            f"{len(HEADERS)} columns; each step in its own process",
            f"{'step':<40} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9} {'file':>9}",
        ]
        print("\n".join(lines), flush=True)
        for label, name, path, rows in steps:
            result = run(name, path, rows)
            size = f"{result['file_mb']} MB" if result["file_mb"] is not None else ""
            line = (
                f"{label:<40} {result['rows']:>10,} {result['seconds']:>8.1f} "
                f"{result['rows_per_s'] or 0:>9,} {result['peak_rss_mb']:>6} MB {size:>9}"
            )
            print(line, flush=True)
            lines.append(line)
            if name == "write_csv" and result["file_mb"] * 2**20 > tabular.Limits().max_bytes:
                note = (
                    f"note: the UTF-8 CSV is {result['file_mb']} MB, over the default "
                    f"{tabular.Limits().max_bytes // 2**20} MiB limit; "
                    "reads below use max_bytes=1 GiB"
                )
                print(note, flush=True)
                lines.append(note)
    out = ROOT / "bench-results" / "tabular.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
