"""Reading clerks' CSV/XLSX/XLS uploads and writing CSV/XLSX exports.

Every upload and export passes through here. The rule is that nothing is silently dropped or
changed: a file that cannot be read is refused as a whole with a Chinese message
(`FileRejected`); a file that can be read comes back as strings that look like what the clerk
sees in Excel, with row numbers as Excel shows them, so the caller can report each bad cell.

Pure module: stdlib, python-calamine, XlsxWriter and numpy only (no Flask, no SQLAlchemy).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import mmap
import re
import struct
import unicodedata
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from itertools import chain
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import numpy as np
import python_calamine as calamine
import xlsxwriter

from .errors import Invalid

__all__ = [
    "Column",
    "FileRejected",
    "HeaderMapping",
    "Limits",
    "Row",
    "Table",
    "escape_cell",
    "map_headers",
    "normalise_header",
    "open_table",
    "write_csv",
    "write_xlsx",
]

MiB = 1024 * 1024

Row = tuple[int, list[str]]
"""(row number as Excel shows it, 1-based; the cells as stripped strings, "" for empty)."""


class FileRejected(Invalid):
    """The whole file cannot be read; `message` says why (zh-CN)."""


class _NoHeader(FileRejected):
    """No non-blank row at all (a workbook then tries its next sheet)."""


@dataclass(frozen=True)
class Limits:
    """Upper bounds on an upload, checked before and while it is parsed."""

    max_bytes: int = 200 * MiB
    max_unpacked_bytes: int = 1024 * MiB  # xlsx: sum of the zip entries' uncompressed sizes
    max_zip_entries: int = 10_000
    max_rows: int = 5_000_000  # data rows, not counting the header and blank rows
    max_columns: int = 200
    # An xlsx entry over `ratio_min_bytes` unpacked that deflates better than this is treated
    # as a zip bomb: spreadsheet XML compresses about 5-30:1, a run of zeros about 1000:1.
    max_compression_ratio: int = 200
    ratio_min_bytes: int = 1 * MiB
    # xlsx: calamine holds a sheet as the dense box from A1 to its farthest cell (about 32
    # bytes a cell), whatever the cells in between: one cell at XFD1048576 asks for 512 GiB.
    max_sheet_rows: int = 1_048_576  # Excel's own limits
    max_sheet_columns: int = 16_384
    max_sheet_cells: int = 30_000_000  # about 1 GB in calamine


@dataclass
class Table:
    """An opened upload: the header row and an iterator over the data rows.

    `rows` is lazy: CSV is decoded strictly while it is read (the encoding is picked on the
    start of the file), XLSX/XLS cells are converted row by row (calamine holds the sheet itself).
    `blank_rows` grows as `rows` is consumed; it counts the fully empty rows after the header,
    which are skipped. Iteration may raise `FileRejected` (a malformed CSV record, too many
    rows).
    """

    headers: list[str]
    rows: Iterator[Row]
    format: str  # "csv" | "xlsx" | "xls": what the content is, not only what the name says
    encoding: str | None = None  # CSV: the encoding used to decode it
    sheet: str | None = None  # XLSX/XLS: the sheet read
    blank_rows: int = 0
    header_row: int = 1  # row number of the header (after leading blank rows)
    delimiter: str | None = None  # CSV: the field delimiter used
    sheet_names: list[str] = field(default_factory=list)  # XLSX/XLS: every sheet, in order

    def __iter__(self) -> Iterator[Row]:
        return self.rows

    def close(self) -> None:
        """Release the file early (it is also released when the rows run out)."""
        _close(self.rows)

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- open_table -------------------------------------------------------------------------------

_FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CORRUPT = "文件已损坏或不是有效的 Excel 文件，请用 Excel 打开确认后另存为 .xlsx 再上传"
# What reading a damaged or hostile zip member can raise: each is the file's fault.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    EOFError,
    OSError,
    zlib.error,
)
_ENCRYPTED = "文件设置了打开密码，请在 Excel 中取消密码后重新上传"


def open_table(
    path: Path,
    *,
    filename: str,
    encoding: str | None = None,
    sheet: str | None = None,
    limits: Limits = Limits(),
) -> Table:
    """Open an uploaded file stored at `path`; `filename` is the name the clerk uploaded.

    The format comes from the extension of `filename`; the content must agree (an .xls that is
    really an .xlsx is read as one, an .xls that is really a web page is refused with advice).
    `encoding` forces the CSV encoding; `sheet` picks a sheet by name (default: the first
    visible sheet with data). Raises `FileRejected` when the file cannot be read.
    """
    path = Path(path)
    suffix = Path(filename).suffix.lower()
    kind = _FORMATS.get(suffix)
    if kind is None:
        shown = suffix or "（无扩展名）"
        raise FileRejected(f"不支持的文件类型 {shown}，请上传 CSV、XLSX 或 XLS 文件")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise FileRejected(
            f"文件大小 {_mb(size)} 超过上限 {_mb(limits.max_bytes)}，请拆分后分批上传"
        )
    if size == 0:
        raise FileRejected("文件是空的")
    with path.open("rb") as fh:
        head = fh.read(2048)
    if head.startswith(_ZIP_MAGIC):
        content = "xlsx"
    elif head.startswith(_OLE_MAGIC):
        content = "xls"
    else:
        content = "text"

    if kind == "csv":
        if content != "text":
            raise FileRejected(
                f"文件扩展名是 {suffix}，但内容是 Excel 工作簿；"
                "请把扩展名改为 .xlsx 或 .xls 后上传，或在 Excel 中另存为 CSV"
            )
        return _open_csv(path, encoding, limits)
    if content == "text":
        raise FileRejected(_not_excel_message(suffix, head))
    if content == "xls" and _is_encrypted_ooxml(path):
        raise FileRejected(_ENCRYPTED)
    if content == "xls":
        _check_xls_extents(path, limits)
        return _open_workbook(path, content, sheet, limits, None)
    # calamine parses with the GIL released, so the scan of the archive runs beside it on
    # another core; the zip headers are checked first, which is what bounds calamine's reading,
    # and then the sheets' extents, which bound the box it allocates.
    _check_zip_headers(path, limits)
    _check_sheet_extents(path, limits)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-scan") as pool:
        scan = pool.submit(_scan_zip, path)
        try:
            return _open_workbook(path, content, sheet, limits, scan)
        except FileRejected:
            scan.result()  # a damaged archive is what to report, whatever calamine said
            raise


def _mb(size: int) -> str:
    return f"{size / MiB:,.1f} MB"


def _not_excel_message(suffix: str, head: bytes) -> str:
    sample = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sample.startswith((b"<html", b"<!doctype html", b"<table", b"<meta")) or (
        b"<html" in sample
    ):
        what = "网页（HTML）"
    elif sample.startswith(b"<?xml"):
        what = "XML 表格（Excel 2003 XML）"
    else:
        return (
            f"文件扩展名是 {suffix}，但内容不是 Excel 工作簿，可能是纯文本（CSV 或制表符分隔）。"
            "请把扩展名改为 .csv 后上传，或用 Excel 打开后另存为 .xlsx"
        )
    return (
        f"文件扩展名是 {suffix}，但内容是{what}格式，不是真正的 Excel 文件。"
        "请用 Excel 打开后“另存为”Excel 工作簿（.xlsx）再上传"
    )


def _is_encrypted_ooxml(path: Path) -> bool:
    """A password-protected .xlsx is an OLE container holding an EncryptedPackage stream."""
    needle = "EncryptedPackage".encode("utf-16-le")
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(4 * MiB):
            if needle in carry + chunk:
                return True
            carry = chunk[-len(needle) :]
    return False


# --- header and data rows, shared by every format ---------------------------------------------


def _start_table(records: Iterator[Row], limits: Limits, **attrs: Any) -> Table:
    """Take the header from the first non-blank record; the rest become `Table.rows`."""
    found = next((record for record in records if any(record[1])), None)
    if found is None:
        _close(records)
        raise _NoHeader("文件中没有数据（找不到表头行）")
    row_no, cells = found
    try:
        headers = _check_headers(cells, attrs["format"] != "csv", limits)
    except BaseException:
        _close(records)
        raise
    table = Table(headers=headers, rows=iter(()), header_row=row_no, **attrs)
    # A weak reference: the table owns the generator, and a cycle would keep a CSV file open
    # until the garbage collector runs instead of closing it as soon as the table is dropped.
    table.rows = _data_rows(records, weakref.ref(table), len(headers), limits)
    return table


def _check_headers(cells: list[str], excel: bool, limits: Limits) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    headers = cells[:end]
    if len(headers) > limits.max_columns:
        raise FileRejected(
            f"表头有 {len(headers)} 列，超过上限 {limits.max_columns} 列；请确认第一行是表头"
        )
    positions: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        if header:
            positions.setdefault(header, []).append(i)
    duplicates = {h: p for h, p in positions.items() if len(p) > 1}
    if duplicates:
        parts = [
            f"「{h}」（{'、'.join(_column_name(i, excel) for i in p)}）"
            for h, p in duplicates.items()
        ]
        raise FileRejected("表头重复：" + "；".join(parts) + "。请删除或改名重复的列")
    return headers


def _column_name(index: int, excel: bool) -> str:
    if not excel:
        return f"第 {index + 1} 列"
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters} 列"


def _data_rows(
    records: Iterator[Row], table_ref: weakref.ref[Table], width: int, limits: Limits
) -> Iterator[Row]:
    count = 0
    try:
        for row_no, cells in records:
            if not any(cells):
                owner = table_ref()
                if owner is not None:
                    owner.blank_rows += 1
                continue
            count += 1
            if count > limits.max_rows:
                raise FileRejected(
                    f"数据超过 {limits.max_rows:,} 行的上限（第 {row_no} 行），请拆分后分批上传"
                )
            # Extra cells stay (the caller reports non-empty ones); empty trailing ones go.
            end = len(cells)
            while end > width and not cells[end - 1]:
                end -= 1
            if end < len(cells):
                del cells[end:]
            elif end < width:
                cells.extend([""] * (width - end))
            yield row_no, cells
    finally:
        _close(records)


def _close(records: Iterator) -> None:
    close = getattr(records, "close", None)
    if close is not None:
        close()


# --- CSV ------------------------------------------------------------------------------------

_CHUNK = 4 * MiB
_DELIMITERS = (",", "\t", ";")  # ties go to the earlier one
_AUTO_ENCODINGS = ("utf-8", "gb18030")


def _open_csv(path: Path, manual: str | None, limits: Limits) -> Table:
    encoding = _csv_encoding(path, manual)
    fh = path.open(encoding=encoding, errors="strict", newline="")
    try:
        lines: Iterator[str] = iter(fh)
        peeked: list[str] = []
        skipped = 0
        delimiter = None
        for line in lines:
            line = line.lstrip("\ufeff") if not peeked and not skipped else line
            sep = re.fullmatch(r"sep=(.)\r?\n?", line)
            if not peeked and not skipped and sep:
                # Excel's own hint line; it is not data.
                delimiter = sep.group(1)
                skipped = 1
                continue
            peeked.append(line)
            if line.strip(" \t\r\n,;"):
                break
        if delimiter is None:
            delimiter = _sniff_delimiter(peeked[-1] if peeked else "")
        reader = csv.reader(chain(peeked, lines), delimiter=delimiter, strict=True)
    except UnicodeDecodeError as exc:
        fh.close()
        raise FileRejected(f"文件无法按 {encoding} 解码，请选择其他编码后重新上传") from exc
    except BaseException:
        fh.close()
        raise
    records = _csv_records(fh, reader, skipped, path, encoding, manual)
    return _start_table(records, limits, format="csv", encoding=encoding, delimiter=delimiter)


def _csv_records(
    fh: IO[str], reader: Any, offset: int, path: Path, encoding: str, manual: str | None
) -> Iterator[Row]:
    """Each record with the line it starts on (a quoted newline makes a record span lines)."""
    with fh:
        while True:
            start = reader.line_num + 1 + offset
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileRejected(_csv_error_message(start, str(exc))) from exc
            except UnicodeDecodeError as exc:  # past the part the encoding was chosen on
                failure = _decode_failure(path, encoding)
                line = failure[1] if failure else start
                raise FileRejected(_undecodable(line, encoding, manual, _bom(path))) from exc
            yield start, list(map(str.strip, record))


def _csv_error_message(line: int, detail: str) -> str:
    if "unexpected end of data" in detail:
        reason = "引号没有闭合（以引号开头的内容必须以引号结束）"
    elif "field larger than field limit" in detail:
        reason = "内容过长，通常是引号没有闭合，把后面的很多行都当成了一个单元格"
    elif "expected after" in detail:
        reason = '引号位置不对（结束引号后面应紧跟分隔符或换行；内容中的引号要写成两个引号 ""）'
    else:
        reason = "CSV 格式错误"
    return f"第 {line} 行开始的记录无法读取：{reason}。请用 Excel 打开检查后另存为 .xlsx 再上传"


def _sniff_delimiter(line: str) -> str:
    """The candidate that occurs most often outside quotes in the header line.

    csv.Sniffer is not used: it also guesses quoting and raises on one-column files.
    """
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals
    return best if counts[best] else ","


def _csv_encoding(path: Path, manual: str | None) -> str:
    """BOM → strict UTF-8 → strict GB18030 → ask the clerk; or the clerk's own choice.

    A detector such as charset-normalizer is not used: it reads short GBK files as Korean
    cp949 or Big5. Each candidate decodes the file strictly up to its first 4 MB chunk with a
    non-ASCII byte (ASCII reads the same in every candidate, and a wrong candidate fails on
    the first Chinese characters); the one chosen then decodes the rest strictly as the rows
    are read, and a bad byte further on rejects the file naming its line. NUL bytes are looked
    for in the whole file first.
    """
    bom = _bom(path)
    if manual:
        try:
            info = codecs.lookup(manual.strip())
        except LookupError:
            raise FileRejected(f"不支持的编码 {manual}，请选择 UTF-8、GBK 或 GB18030") from None
        if not getattr(info, "_is_text_encoding", True):
            raise FileRejected(f"不支持的编码 {manual}，请选择 UTF-8、GBK 或 GB18030")
        name = info.name
        if name == "utf-8" and bom == "UTF-8":
            name = "utf-8-sig"
        candidates: tuple[str, ...] = (name,)
    elif bom == "UTF-8":
        candidates = ("utf-8-sig",)
    elif bom == "UTF-16":
        candidates = ("utf-16",)
    else:
        candidates = _AUTO_ENCODINGS
    failure = None
    for name in candidates:
        failure = _decode_failure(path, name, sample=True)
        if failure is None:
            return name
        if failure[0] == "nul":
            raise FileRejected(
                f"第 {failure[1]} 行含有空字符（NUL），文件可能是 UTF-16 编码或不是文本文件；"
                "请选择编码后重新上传，或用 Excel 另存为 .xlsx"
            )
    assert failure is not None
    if manual or bom:
        raise FileRejected(_undecodable(failure[1], candidates[0], manual, bom))
    raise FileRejected("无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030），请选择编码后重新上传")


def _bom(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "UTF-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    return None


def _undecodable(line: int, encoding: str, manual: str | None, bom: str | None) -> str:
    if manual:
        return f"文件第 {line} 行无法按所选编码 {manual} 解码，请选择其他编码后重新上传"
    if bom:
        return f"文件开头标明是 {bom} 编码，但第 {line} 行无法按 {bom} 解码，请选择编码后重新上传"
    return (
        f"文件第 {line} 行无法按 {encoding} 解码（文件前面的内容是 {encoding} 编码，"
        "可能混用了多种编码），请选择编码后重新上传"
    )


def _decode_failure(path: Path, encoding: str, *, sample: bool = False) -> tuple[str, int] | None:
    """None if the file decodes strictly and has no NUL; else ("decode"|"nul", line).

    Outside UTF-16/32 a NUL byte never belongs in text: it is looked for before decoding, so a
    UTF-16 file without a BOM is reported as such rather than as undecodable. With `sample`,
    decoding stops after the first chunk with a non-ASCII byte (NUL is still looked for in the
    whole file).
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    raw_nul = not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    lines = 0
    decoding = True
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            nul = chunk.find(b"\x00") if raw_nul else -1
            if nul >= 0:
                return "nul", lines + chunk.count(b"\n", 0, nul) + 1
            if not decoding:
                if not raw_nul:
                    return None
                lines += chunk.count(b"\n")  # ASCII-compatible: a newline is that byte
            else:
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    before = exc.object[: exc.start]
                    return "decode", lines + before.decode(encoding, "replace").count("\n") + 1
                nul = text.find("\x00")
                if nul >= 0:
                    return "nul", lines + text.count("\n", 0, nul) + 1
                lines += text.count("\n")
                decoding = not (sample and not chunk.isascii())
            if not chunk:
                return None


# --- XLSX / XLS -----------------------------------------------------------------------------

# Sheet XML is scanned for error cells because calamine turns "#N/A" into an empty string.
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_VALUE_RE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_REF_RE = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_ERROR_TYPE_RE = re.compile(rb'\bt="e"')
_CELL_START_RE = re.compile(rb"<(?:\w+:)?c\b")

ErrorCells = dict[int, dict[int, str]]  # 0-based row -> 0-based column -> "#N/A"


def _check_zip(path: Path, limits: Limits) -> dict[str, ErrorCells]:
    """Refuse zip bombs and broken archives; return the error cells of each worksheet part.

    `open_table` runs the two halves apart: the header checks before calamine opens the file,
    the decompressing scan beside calamine's parse (see there).
    """
    _check_zip_headers(path, limits)
    return _scan_zip(path)


def _check_zip_headers(path: Path, limits: Limits) -> None:
    """Refuse zip bombs and encrypted entries from the central directory alone.

    This is what keeps calamine's memory bounded: its zip reader stops any entry at the
    uncompressed size the central directory declares ("File is larger than its declared
    uncompressed size"; pinned by a test), and those sizes are checked here.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise FileRejected(_CORRUPT, errors={"detail": str(exc)}) from exc
    if len(infos) > limits.max_zip_entries:
        raise FileRejected(
            f"文件包含 {len(infos):,} 个压缩条目，超过上限 {limits.max_zip_entries:,}，"
            "疑似恶意文件，已拒绝"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        raise FileRejected(
            f"文件解压后大小 {_mb(total)} 超过上限 {_mb(limits.max_unpacked_bytes)}，"
            "疑似压缩炸弹，已拒绝"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_min_bytes and ratio > limits.max_compression_ratio:
            raise FileRejected(
                f"文件中的 {info.filename} 压缩比异常（{ratio:,.0f}:1），疑似压缩炸弹，已拒绝"
            )
        if info.flag_bits & 0x1:
            raise FileRejected(_ENCRYPTED)


def _scan_zip(path: Path) -> dict[str, ErrorCells]:
    """Decompress every XML entry once; return the error cells of each worksheet part.

    An entry that is damaged, or bigger than its header says, fails its CRC or size check here
    and the file is refused as damaged. Call after `_check_zip_headers`: each entry is read up
    to its declared size, in chunks.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            errors: dict[str, ErrorCells] = {}
            for info in zf.infolist():
                name = info.filename
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with zf.open(info) as member:
                        found = _scan_errors(member)
                    if found:
                        errors[name] = found
                elif name.endswith((".xml", ".rels")):
                    with zf.open(info) as member:
                        while member.read(_SCAN_CHUNK):
                            pass
            return errors
    except _ZIP_ERRORS as exc:
        raise FileRejected(_CORRUPT, errors={"detail": str(exc)}) from exc


_ERROR_MARK = b't="e"'
_SCAN_CHUNK = 1 * MiB  # as fast as larger reads, and a smaller addition to calamine's peak


def _scan_errors(member: IO[bytes]) -> ErrorCells:
    """The error-valued cells of one worksheet's XML, read in chunks.

    Only the cells around each t="e" are parsed: a bytes search finds them, so a sheet with a
    few #N/A in every chunk costs hardly more than one without.
    """
    found: ErrorCells = {}
    carry = b""
    while True:
        chunk = member.read(_SCAN_CHUNK)
        buffer = carry + chunk if carry else chunk
        end = len(buffer)
        if chunk:
            # Leave the last (possibly incomplete) cell for the next round.
            starts = list(_CELL_START_RE.finditer(buffer, max(0, end - 65536)))
            end = starts[-1].start() if starts else max(0, end - 64)
        mark = buffer.find(_ERROR_MARK, 0, end)
        while mark >= 0:
            # A start tag holds no "<": the cell, if the mark is in one, starts at the last "<".
            tag = buffer.rfind(b"<", 0, mark)
            match = _CELL_RE.match(buffer, tag, end) if tag >= 0 else None
            if match:
                _error_cell(found, *match.groups())
            mark = buffer.find(_ERROR_MARK, match.end() if match else mark + 1, end)
        if not chunk:
            return found
        carry = buffer[end:]


def _error_cell(found: ErrorCells, attrs: bytes, body: bytes | None) -> None:
    ref = _REF_RE.search(attrs)
    value = _VALUE_RE.search(body or b"")
    if _ERROR_TYPE_RE.search(attrs) and ref and value:
        row = int(ref.group(2)) - 1
        col = _column_index(ref.group(1).decode())
        found.setdefault(row, {})[col] = unescape(value.group(1).decode())


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


# --- sheet extents ------------------------------------------------------------------------------

_DIMENSION_RE = re.compile(
    rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]*)([0-9]*)(?::([A-Z]*)([0-9]*))?"'
)
_EXTENT_CHUNK = 1 * MiB
_EXTENT_OVERLAP = 32  # longer than any ref (` r="XFD1048576"`): a ref cut by a chunk's end


@dataclass
class _Extent:
    """How far a worksheet reaches: its farthest row and column (1-based) over the refs of its
    rows and cells, its declared dimension, and what cells and rows without a ref add."""

    rows: int = 0
    columns: int = 0
    cells: int = 0  # <c> elements
    cell_refs: int = 0
    row_tags: int = 0  # <row> elements
    row_refs: int = 0

    def box(self) -> tuple[int, int]:
        # A cell or row without a ref takes the place after the previous one: at most one
        # place further each.
        rows = self.rows + max(0, self.row_tags - self.row_refs)
        columns = self.columns + max(0, self.cells - self.cell_refs)
        return rows, columns


def _check_sheet_extents(path: Path, limits: Limits) -> None:
    """Refuse an xlsx whose worksheets reach beyond the limits, before calamine allocates them.

    Every XML entry of the archive is scanned (a worksheet may be stored under any name), in
    chunks, up to the size its header declares (checked already by _check_zip_headers).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".xml"):
                    continue
                with zf.open(info) as member:
                    extent = _sheet_extent(member)
                _refuse_extent(info.filename, extent, limits)
    except _ZIP_ERRORS as exc:
        raise FileRejected(_CORRUPT, errors={"detail": str(exc)}) from exc


def _refuse_extent(part: str, extent: _Extent, limits: Limits) -> None:
    rows, columns = extent.box()
    if (
        rows <= limits.max_sheet_rows
        and columns <= limits.max_sheet_columns
        and rows * columns <= limits.max_sheet_cells
    ):
        return
    raise FileRejected(
        f"工作表的数据区域过大（{rows:,} 行 × {columns:,} 列），超过上限"
        f"（{limits.max_sheet_rows:,} 行、{limits.max_sheet_columns:,} 列、"
        f"共 {limits.max_sheet_cells:,} 个单元格）。请删除数据区域之外的空白行列或远处的单元格"
        "（或把数据复制到新工作表）后另存再上传",
        errors={"part": part, "rows": rows, "columns": columns},
    )


def _sheet_extent(member: IO[bytes]) -> _Extent:
    """The extent of one XML part, read in chunks; parts that are not worksheets have none."""
    extent = _Extent()
    carry = b""
    tags = (b"<c", b"<row")
    first = True
    while True:
        chunk = member.read(_EXTENT_CHUNK)
        if first:
            first = False
            prefixed = _PREFIXED_RE.search(chunk)
            if prefixed:  # <x:worksheet>: its cells are <x:c>
                tags = (b"<" + prefixed.group(1) + b":c", b"<" + prefixed.group(1) + b":row")
            dimension = _DIMENSION_RE.search(chunk)
            if dimension:
                for letters, digits in (dimension.group(1, 2), dimension.group(3, 4)):
                    if letters:
                        extent.columns = max(extent.columns, _column_index(letters.decode()) + 1)
                    if digits:
                        extent.rows = max(extent.rows, int(digits))
        buffer = carry + chunk
        if not chunk:
            _extent_of(buffer, extent, tags, final=True)
            return extent
        carry = _extent_of(buffer, extent, tags, final=False)


_SPACE, _R, _EQ, _QUOTE = b' r="'
_BEYOND = 10**9  # a ref of more than 3 letters or 8 digits
_PREFIXED_RE = re.compile(rb"<(\w+):worksheet\b")


def _extent_of(buffer: bytes, extent: _Extent, tags: tuple[bytes, bytes], *, final: bool) -> bytes:
    """Add the refs (` r="B12"`, ` r="12"`) and the cell and row tags of `buffer` to `extent`;
    return the tail left for the next chunk (a ref or tag it may cut). Vectorised: a 1M-row
    sheet has tens of millions of refs. Counting "<c" also counts <col>, <cfRule>…: a few
    more cells without a ref, which only widens the box a little (text holds no "<")."""
    end = len(buffer) if final else max(0, len(buffer) - _EXTENT_OVERLAP)
    data = np.frombuffer(buffer, dtype=np.uint8)
    if final:
        data = np.concatenate([data, np.zeros(16, dtype=np.uint8)])  # refs read into zeros
    if end:  # the refs starting before `end` (the bytes after them are in `data`)
        found = data[:end] == _SPACE
        found &= data[1 : end + 1] == _R
        found &= data[2 : end + 2] == _EQ
        found &= data[3 : end + 3] == _QUOTE
        _add_refs(data, np.flatnonzero(found) + 4, extent)
    cell, row = tags
    extent.cells += buffer.count(cell, 0, end + len(cell) - 1)
    extent.row_tags += buffer.count(row, 0, end + len(row) - 1)
    return buffer[end:]


def _add_refs(data: np.ndarray, starts: np.ndarray, extent: _Extent) -> None:
    """The refs whose values start at `starts`: letters (a column) then digits (a row). At
    least 13 bytes follow each start in `data`."""
    if not len(starts):
        return
    letters = np.zeros(len(starts), dtype=np.int64)
    leading = np.ones(len(starts), dtype=bool)
    for k in range(4):
        byte = data[starts + k]
        leading &= (byte >= 65) & (byte <= 90)
        letters += leading
    digits = np.zeros(len(starts), dtype=np.int64)
    leading = np.ones(len(starts), dtype=bool)
    at = starts + letters
    for k in range(9):
        byte = data[at + k]
        leading &= (byte >= 48) & (byte <= 57)
        digits += leading
    valid = digits > 0
    cells = valid & (letters > 0)
    extent.cell_refs += int(np.count_nonzero(cells))
    extent.row_refs += int(np.count_nonzero(valid & (letters == 0)))
    if not valid.any():
        return
    if (letters[valid] > 3).any() or (digits[valid] > 8).any():
        extent.columns = (
            max(extent.columns, 10**9) if (letters[valid] > 3).any() else extent.columns
        )
        extent.rows = max(extent.rows, 10**9) if (digits[valid] > 8).any() else extent.rows
        valid &= (letters <= 3) & (digits <= 8)
    if cells.any():
        most = int(letters[cells].max())
        chosen = starts[cells & (letters == most)]
        column = np.zeros(len(chosen), dtype=np.int64)
        for k in range(most):
            column = column * 26 + data[chosen + k] - 64
        extent.columns = max(extent.columns, int(column.max()))
    most = int(digits[valid].max())
    chosen = valid & (digits == most)
    row = np.zeros(int(np.count_nonzero(chosen)), dtype=np.int64)
    base = (starts + letters)[chosen]
    for k in range(most):
        row = row * 10 + data[base + k] - 48
    extent.rows = max(extent.rows, int(row.max()))


# --- XLS extents: the same box, from the workbook's BIFF records ---------------------------------
#
# An .xls is an OLE compound file (MS-CFB) whose "Workbook" stream holds BIFF records; each
# cell record starts with its row and column as 16-bit numbers, and calamine takes them as they
# are: a cell at column 65535 makes it allocate 4 billion cells. The stream is found through
# the compound file's FAT and directory, every chain bounded by the number of sectors.

_CFB_SPECIAL = 0xFFFFFFFA  # and above: end of chain, free, FAT and DIFAT sectors
_BIFF_BOF = {0x0009, 0x0209, 0x0409, 0x0809}
# Records that start with (row, column): formula, number, label, boolean/error, blank, RK,
# rich string, shared-string label (BIFF2 to BIFF8).
_BIFF_CELLS = {
    0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0201, 0x0203, 0x0204, 0x0205,
    0x0206, 0x0406, 0x00D6, 0x00FD, 0x027E,
}  # fmt: skip
_BIFF_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: row, first column, …, last column
_BIFF_DIMENSIONS = 0x0200
_RECORD = struct.Struct("<HHHH")  # kind, length, then a cell's row and column


def _check_xls_extents(path: Path, limits: Limits) -> None:
    """Refuse an .xls whose sheets reach beyond the limits, before calamine allocates them."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            stream = _Compound(data).stream(("workbook", "book"))
        except (ValueError, struct.error) as exc:
            raise FileRejected(_CORRUPT, errors={"detail": str(exc)}) from exc
    if stream is None:
        return  # no workbook in it: calamine says so
    for number, extent in enumerate(_biff_extents(stream)):
        _refuse_extent(f"Workbook substream {number}", extent, limits)


class _Compound:
    """Just enough of an OLE compound file (MS-CFB) to read one stream, every chain bounded."""

    def __init__(self, data):
        if len(data) < 512 or data[:8] != _OLE_MAGIC:
            raise ValueError("not a compound file")
        self.major, _, shift, mini_shift = struct.unpack_from("<HHHH", data, 0x1A)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("unsupported sector size")
        self.data, self.size = data, 1 << shift
        self.sectors = max(0, (len(data) - self.size) // self.size)
        (self.dir_first, _, self.cutoff, self.minifat_first, _, difat, difat_count) = (
            struct.unpack_from("<IIIIIII", data, 0x30)
        )
        fat_sectors = list(struct.unpack_from("<109I", data, 0x4C))
        seen = 0
        while difat < _CFB_SPECIAL:
            seen += 1
            if seen > min(difat_count, self.sectors) + 1:
                raise ValueError("DIFAT chain loops")
            entries = struct.unpack(f"<{self.size // 4}I", self.sector(difat))
            fat_sectors += entries[:-1]
            difat = entries[-1]
        self.fat = b"".join(self.sector(n) for n in fat_sectors if n < _CFB_SPECIAL)

    def sector(self, number: int) -> bytes:
        if number >= self.sectors:
            raise ValueError(f"sector {number} beyond the file")
        return self.data[(number + 1) * self.size : (number + 2) * self.size]

    def read(self, start: int) -> bytes:
        """The sectors of the chain from `start`, joined."""
        return b"".join(map(self.sector, _chain(start, self.fat, self.sectors)))

    def stream(self, names: tuple[str, ...]) -> bytes | None:
        """The first stream named one of `names` (any case), or None."""
        directory = self.read(self.dir_first)
        entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
        if not entries:
            raise ValueError("no directory")
        for entry in entries:
            (name_bytes,) = struct.unpack_from("<H", entry, 64)
            name = entry[: max(0, min(name_bytes, 64) - 2)].decode("utf-16-le", "replace")
            if entry[66] != 2 or name.lower() not in names:
                continue
            start, length = struct.unpack_from("<IQ", entry, 116)
            if self.major == 3:
                length &= 0xFFFFFFFF  # version 3 files may leave the high half unset
            if length > len(self.data):
                raise ValueError("stream longer than the file")
            if length >= self.cutoff:
                return self.read(start)[:length]
            # A small stream lives in the mini stream (the root's), in 64-byte sectors.
            mini = self.read(struct.unpack_from("<I", entries[0], 116)[0])
            minifat = self.read(self.minifat_first)
            numbers = _chain(start, minifat, len(mini) // 64 + 1)
            return b"".join(mini[n * 64 : (n + 1) * 64] for n in numbers)[:length]
        return None


def _chain(start: int, table: bytes, limit: int) -> list[int]:
    """The sector numbers of a chain through `table` (little-endian 32-bit next pointers)."""
    found, number, entries = [], start, len(table) // 4
    while number < _CFB_SPECIAL:
        if number >= entries or len(found) >= limit:
            raise ValueError("broken or looping sector chain")
        found.append(number)
        (number,) = struct.unpack_from("<I", table, number * 4)
    return found


def _biff_extents(stream: bytes) -> list[_Extent]:
    """The extent of each substream (a sheet, from its BOF record on) of a BIFF stream."""
    extents: list[_Extent] = []
    current = _Extent()
    unpack, end, position = _RECORD.unpack_from, len(stream), 0
    padded = stream + bytes(8)  # a short last record still unpacks
    while position + 4 <= end:
        kind, length, row, column = unpack(padded, position)
        body, position = position + 4, position + 4 + length
        if kind in _BIFF_BOF:
            current = _Extent()
            extents.append(current)
        elif kind in _BIFF_CELLS and length >= 4:
            current.rows = max(current.rows, row + 1)
            current.columns = max(current.columns, column + 1)
        elif kind in _BIFF_MULTI and length >= 6:
            (last,) = struct.unpack_from("<H", padded, body + length - 2)
            current.rows = max(current.rows, row + 1)
            current.columns = max(current.columns, column + 1, last + 1)
        elif kind == _BIFF_DIMENSIONS and length >= 14:  # BIFF8: 32-bit rows
            _, last_row, _, last_column = struct.unpack_from("<IIHH", padded, body)
            current.rows = max(current.rows, last_row)
            current.columns = max(current.columns, last_column)
        elif kind == _BIFF_DIMENSIONS and length >= 8:
            _, last_row, _, last_column = struct.unpack_from("<HHHH", padded, body)
            current.rows = max(current.rows, last_row)
            current.columns = max(current.columns, last_column)
    return extents


def _sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name -> worksheet part, from workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as zf:
        try:
            workbook = zf.read("xl/workbook.xml")
            rels = zf.read("xl/_rels/workbook.xml.rels")
        except KeyError:  # parts named otherwise: error cells then stay as calamine reads them
            return {}
    targets = {}
    for attrs in re.findall(rb"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        rid = re.search(rb'\bId="([^"]*)"', attrs)
        target = re.search(rb'\bTarget="([^"]*)"', attrs)
        if rid and target:
            value = unescape(target.group(1).decode())
            targets[rid.group(1)] = value.lstrip("/") if value.startswith("/") else "xl/" + value
    parts = {}
    for attrs in re.findall(rb"<(?:\w+:)?sheet\b([^>]*)>", workbook):
        name = re.search(rb'\bname="([^"]*)"', attrs)
        rid = re.search(rb'\b\w+:id="([^"]*)"', attrs)
        if name and rid and rid.group(1) in targets:
            parts[unescape(name.group(1).decode())] = targets[rid.group(1)]
    return parts


def _open_workbook(
    path: Path,
    content: str,
    sheet: str | None,
    limits: Limits,
    scan: Future[dict[str, ErrorCells]] | None,
) -> Table:
    """The sheet asked for, else the first visible sheet with data, as a `Table`.

    `scan` is the running `_scan_zip` of an xlsx (None for .xls): its error cells are taken
    once a sheet has loaded; `open_table` reports its refusal of a damaged archive first.
    """
    try:
        if _FORMATS.get(path.suffix.lower()) == content:
            workbook = calamine.CalamineWorkbook.from_path(str(path))
        else:  # stored without the right extension: let calamine sniff the content
            with path.open("rb") as fh:
                workbook = calamine.CalamineWorkbook.from_filelike(fh)
    except calamine.PasswordError as exc:
        raise FileRejected(_ENCRYPTED) from exc
    except calamine.CalamineError as exc:
        raise FileRejected(_CORRUPT, errors={"detail": str(exc)}) from exc
    with workbook:
        names = list(workbook.sheet_names)
        metadata = list(workbook.sheets_metadata)
        if sheet is not None:
            candidates = [_find_sheet(sheet, names)]
        else:
            worksheets = [m for m in metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
            visible = [m.name for m in worksheets if m.visible == calamine.SheetVisibleEnum.Visible]
            hidden = [m.name for m in worksheets if m.name not in visible]
            candidates = visible + hidden or names
        errors: dict[str, ErrorCells] | None = None
        parts: dict[str, str] = {}
        for name in candidates:
            try:
                data = workbook.get_sheet_by_name(name)
            except calamine.CalamineError as exc:
                if sheet is None:
                    continue  # a chart or damaged sheet we were only trying
                raise FileRejected(
                    f"工作表「{name}」无法读取，文件可能已损坏", errors={"detail": str(exc)}
                ) from exc
            if errors is None:
                errors = scan.result() if scan is not None else {}
                parts = _sheet_parts(path) if errors else {}
            records = _sheet_records(data, errors.get(parts.get(name, ""), {}))
            try:
                return _start_table(records, limits, format=content, sheet=name, sheet_names=names)
            except _NoHeader:
                if sheet is None:
                    continue
                raise FileRejected(f"工作表「{name}」中没有数据") from None
    raise FileRejected("工作簿中没有数据（所有工作表都是空的）")


def _find_sheet(wanted: str, names: list[str]) -> str:
    if wanted in names:
        return wanted
    key = unicodedata.normalize("NFKC", wanted).strip()
    for name in names:
        if unicodedata.normalize("NFKC", name).strip() == key:
            return name
    listed = "、".join(f"「{n}」" for n in names)
    raise FileRejected(
        f"工作簿中没有名为「{wanted}」的工作表，现有工作表：{listed}",
        errors={"sheets": names},
    )


def _sheet_records(data: Any, errors: ErrorCells) -> Iterator[Row]:
    """Rows of a calamine sheet as (Excel row number, stripped strings from column A).

    calamine 0.9 yields rows from the top of the sheet (leading empty rows included) but cells
    from the first used column; the cells are padded back so that index 0 is column A. Should
    a later version start at the first used row instead, the first row it yields is not blank
    and the offset below corrects the numbering.
    """
    start = data.start
    first_col = start[1] if start else 0
    pad = [""] * first_col
    offset = None
    text_only = True  # until a row holds something else than text
    strip, cell_text = str.strip, _CELL_TEXT
    for index, values in enumerate(data.iter_rows()):
        if text_only:
            try:
                cells = list(map(strip, values))
            except TypeError:
                text_only = False
        if not text_only:
            cells = [v.strip() if type(v) is str else cell_text[type(v)](v) for v in values]
        if pad:
            cells[:0] = pad
        if offset is None:
            offset = start[0] if start and start[0] > 0 and any(cells) else 0
        row = index + offset
        if errors and row in errors:
            for col, text in errors[row].items():
                if col >= len(cells):
                    cells.extend([""] * (col + 1 - len(cells)))
                if not cells[col]:
                    cells[col] = text
        yield row + 1, cells


# --- cell text ----------------------------------------------------------------------------------

_LOCAL = ZoneInfo("Asia/Shanghai")


def _text(value: object) -> str:
    """A cell value as the text the clerk sees in Excel.

    Whole numbers without ".0"; other floats as the shortest text that round-trips, cut to the
    15 significant digits Excel shows and never in scientific notation; booleans TRUE/FALSE;
    dates ISO (times to the nearest second); timezone-aware datetimes in Beijing time.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return _naive(_round_second(value)).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        moment = _round_second(dt.datetime.combine(dt.date(2000, 1, 1), value))
        return moment.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):  # a duration cell such as [h]:mm:ss
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        minutes, secs = divmod(abs(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return str(value)


def _number_text(value: float | Decimal) -> str:
    if isinstance(value, float):
        if value.is_integer():
            if -1e15 < value < 1e15:
                return str(int(value))
        else:
            shortest = repr(value)
            if len(shortest) <= 16 and "e" not in shortest:
                # At most 15 digits and no exponent: already the text the Decimal way below
                # gives (also "nan", "inf" and "-inf", as str() gives them).
                return shortest
        if not math.isfinite(value):
            return str(value)
        number = Decimal(repr(value))
        if len(number.as_tuple().digits) > 15:
            number = Decimal(f"{value:.15g}")
    else:
        if not value.is_finite():
            return str(value)
        number = value
    if number == 0:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _round_second(value: dt.datetime) -> dt.datetime:
    if value.microsecond >= 500_000:
        try:
            return value.replace(microsecond=0) + dt.timedelta(seconds=1)
        except OverflowError:
            pass
    return value.replace(microsecond=0)


def _naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(_LOCAL).replace(tzinfo=None)


class _CellText(dict[type, Callable[[Any], str]]):
    """Cell type -> its text as `_text(value).strip()` gives it, by one lookup per cell."""

    def __missing__(self, kind: type) -> Callable[[Any], str]:
        return _stripped_text


def _stripped_text(value: object) -> str:
    return _text(value).strip()


_CELL_TEXT = _CellText(
    {
        str: str.strip,
        float: _number_text,
        int: str,
        bool: _text,
        dt.date: dt.date.isoformat,
        dt.datetime: _text,
    }
)


# --- header mapping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A field a list accepts: its Chinese export label and the header names it matches."""

    field: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass
class HeaderMapping:
    """Where each field sits in the file, for the import and its preview."""

    index: dict[str, int]  # field -> 0-based column
    matched: list[tuple[str, str]]  # (header as written, field), in file order
    unknown: list[str]  # headers that match no field: shown, then ignored
    missing: list[str]  # labels of required columns not found


_REQUIRED_MARK = re.compile(r"(?:\(必填\)|\*)+$")


def normalise_header(text: str) -> str:
    """NFKC, no whitespace anywhere, no "(必填)"/"*" marker, case-folded."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    key = _REQUIRED_MARK.sub("", key).lstrip("*")
    return key.casefold()


def map_headers(headers: list[str], columns: Sequence[Column]) -> HeaderMapping:
    """Match the file's headers to `columns` by label, field name or alias.

    Two headers that match the same field raise `FileRejected`; a header that matches nothing
    is listed in `unknown`, and so is an empty header between named ones (as "第 N 列"), since
    whatever that column holds is ignored too.
    """
    keys: dict[str, Column] = {}
    for column in columns:
        for name in (column.label, column.field, *column.aliases):
            keys.setdefault(normalise_header(name), column)
    index: dict[str, int] = {}
    matched: list[tuple[str, str]] = []
    unknown: list[str] = []
    first_named = next((i for i, h in enumerate(headers) if h.strip()), len(headers))
    for i, header in enumerate(headers):
        if not header.strip():
            if i > first_named:
                unknown.append(f"（第 {i + 1} 列，无表头）")
            continue
        column = keys.get(normalise_header(header))
        if column is None:
            unknown.append(header)
            continue
        if column.field in index:
            first = headers[index[column.field]]
            raise FileRejected(
                f"表头「{first}」和「{header}」都对应「{column.label}」，请删除或改名其中一列"
            )
        index[column.field] = i
        matched.append((header, column.field))
    missing = [c.label for c in columns if c.required and c.field not in index]
    return HeaderMapping(index=index, matched=matched, unknown=unknown, missing=missing)


# --- export -----------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def escape_cell(value: object) -> object:
    """Neutralise a text cell that a spreadsheet would run as a formula (CSV injection).

    Text starting with = + - @, tab, CR or NUL gets a leading apostrophe. This includes text
    such as "-1" or "+86 138…": escaping them is deliberate, so the text stays text when the
    file is opened in Excel (defusedcsv leaves "-1" and a leading tab alone). Real numbers are
    not strings and pass through unchanged, as does everything else that is not a str.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(fh: IO[bytes], headers: list[str], rows: Iterable[Sequence]) -> int:
    """Write UTF-8 with BOM and CRLF (what Excel opens correctly); return the rows written.

    Every cell goes through `escape_cell`, then becomes text as `open_table` would read it
    (None → "", whole floats without ".0", dates ISO).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    fh.write(codecs.BOM_UTF8)
    writer.writerow(map(_csv_cell, headers))
    count = 0
    for row in rows:
        writer.writerow(map(_csv_cell, row))
        count += 1
        if count % 2000 == 0:
            fh.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    fh.write(buffer.getvalue().encode("utf-8"))
    return count


def _csv_cell(value: object) -> str:
    if type(value) is str and not value.startswith(_FORMULA_STARTS):
        return value  # the common case, without two more calls
    return _text(escape_cell(value))


_XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
_XLSX_MAX_ROWS = 1_048_576
_XLSX_MAX_CHARS = 32_767
_WIDTH_SAMPLE_ROWS = 1000


def write_xlsx(
    path_or_fh: str | Path | IO[bytes],
    headers: list[str],
    rows: Iterable[Sequence],
    *,
    sheet_name: str = "Sheet1",
    more: Sequence[tuple[str, list[str], Iterable[Sequence]]] = (),
) -> int:
    """Write one sheet with a bold, frozen header row; return the data rows written. `more`:
    further sheets after it, each (name, headers, rows), written the same way (an import
    template's 填写说明).

    Text is escaped and written with write_string (never as a formula, number or link);
    numbers stay numbers, except ints of more than 15 digits, which are written as text
    because Excel would round them; dates get a yyyy-mm-dd format. Raises `Invalid` rather
    than let XlsxWriter drop a row past Excel's limit or cut a cell over 32,767 characters.
    """
    target = str(path_or_fh) if isinstance(path_or_fh, Path) else path_or_fh
    workbook = xlsxwriter.Workbook(target, _XLSX_OPTIONS)
    try:
        formats = {
            "header": workbook.add_format({"bold": True}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "time": workbook.add_format({"num_format": "hh:mm:ss"}),
        }
        count = _write_sheet(workbook, formats, sheet_name, headers, rows)
        for name, more_headers, more_rows in more:
            _write_sheet(workbook, formats, name, more_headers, more_rows)
        return count
    finally:
        workbook.close()


def _write_sheet(
    workbook: Any, formats: dict, name: str, headers: list[str], rows: Iterable[Sequence]
) -> int:
    sheet = workbook.add_worksheet(_sheet_title(name))
    widths = [_display_width(str(h)) for h in headers]
    for col, header in enumerate(headers):
        _write_cell(sheet, 0, col, header, formats, headers, formats["header"])
    sheet.freeze_panes(1, 0)
    count = 0
    for count, row in enumerate(rows, start=1):
        if count >= _XLSX_MAX_ROWS:
            raise Invalid(
                f"导出超过 Excel 单个工作表 {_XLSX_MAX_ROWS - 1:,} 行的上限，"
                "请改用 CSV 导出或缩小范围"
            )
        for col, value in enumerate(row):
            text = _write_cell(sheet, count, col, value, formats, headers)
            if count <= _WIDTH_SAMPLE_ROWS and text is not None:
                if col >= len(widths):
                    widths.extend([0] * (col + 1 - len(widths)))
                widths[col] = max(widths[col], _display_width(text))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 2, 8), 60))
    return count


def _write_cell(
    sheet: Any,
    row: int,
    col: int,
    value: object,
    formats: dict,
    headers: list[str],
    style: Any = None,
) -> str | None:
    """Write one cell; return its text for the column width (None for an empty cell)."""
    if isinstance(value, str):  # the common case first
        if not value:
            return None
        text = str(escape_cell(value))
    elif value is None:
        return None
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, style)
        return "FALSE"
    elif isinstance(value, int) and len(str(abs(value))) <= 15:
        sheet.write_number(row, col, value, style)
        return str(value)
    elif isinstance(value, float | Decimal) and math.isfinite(value):
        sheet.write_number(row, col, float(value), style)
        return _number_text(value)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, col, _naive(value), formats["datetime"])
        return "0000-00-00 00:00:00"
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, value, formats["date"])
        return "0000-00-00"
    elif isinstance(value, dt.time):
        sheet.write_datetime(row, col, value, formats["time"])
        return "00:00:00"
    else:  # long ints, NaN, UUIDs...: their text, escaped like any other text
        text = str(escape_cell(_text(value)))
    if len(text) > _XLSX_MAX_CHARS:
        column = headers[col] if col < len(headers) else f"第 {col + 1} 列"
        raise Invalid(
            f"第 {row + 1} 行「{column}」的内容有 {len(text):,} 个字符，超过 Excel 单元格上限 "
            f"{_XLSX_MAX_CHARS:,}，请改用 CSV 导出"
        )
    sheet.write_string(row, col, text, style)
    return text


def _sheet_title(name: str) -> str:
    """Excel refuses []:*?/\\ in sheet names and more than 31 characters."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "Sheet1"
    return cleaned[:31]


def _display_width(text: str) -> int:
    line = max(text.split("\n"), key=len) if "\n" in text else text
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
