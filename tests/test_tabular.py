"""The file layer: reading clerks' CSV/XLSX/XLS uploads and writing exports."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuangsuiji import tabular
from shuangsuiji.errors import Invalid
from shuangsuiji.tabular import (
    Column,
    FileRejected,
    Limits,
    escape_cell,
    map_headers,
    open_table,
    write_csv,
    write_xlsx,
)

GBK_SAMPLE = "企业名称,统一社会信用代码\n某某科技有限公司,91131000MA0XXXXX0X\n"


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path, filename: str | None = None, **kwargs) -> tabular.Table:
    return open_table(path, filename=filename or path.name, **kwargs)


def rows_of(table: tabular.Table) -> list[tuple[int, list[str]]]:
    return list(table.rows)


def rejected(path: Path, filename: str | None = None, **kwargs) -> str:
    with pytest.raises(FileRejected) as info:
        rows_of(read(path, filename, **kwargs))
    return info.value.message


def xlsx_file(path: Path, cells: dict[str, object], sheet: str = "Sheet1") -> Path:
    """An .xlsx written by openpyxl, which stores ints as ints and dates as serials."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet
    for ref, value in cells.items():
        ws[ref] = value
    workbook.save(path)
    return path


def patch_zip(path: Path, part: str, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as zf:
        contents = {info.filename: zf.read(info) for info in zf.infolist()}
    assert old in contents[part]
    contents[part] = contents[part].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)


# --- a minimal BIFF8 .xls writer (no package writes .xls any more) ----------------------------


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _xls_cell(row: int, col: int, value: object) -> bytes:
    if isinstance(value, bool):
        return _record(0x0205, struct.pack("<HHHBB", row, col, 0, int(value), 0))
    if isinstance(value, dt.date):  # XF 1 has the built-in date format 14
        serial = (value - dt.date(1899, 12, 30)).days
        return _record(0x0203, struct.pack("<HHHd", row, col, 1, float(serial)))
    if isinstance(value, int | float):
        return _record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))
    raw = str(value).encode("utf-16-le")
    return _record(0x0204, struct.pack("<HHHHB", row, col, 0, len(str(value)), 1) + raw)


def _biff8(rows: list[list[object]], sheet: str) -> bytes:
    def bof(kind: int) -> bytes:
        return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0, 0, 0, 0))

    def xf(number_format: int) -> bytes:
        return _record(0x00E0, struct.pack("<HHH", 0, number_format, 0) + b"\0" * 14)

    name = sheet.encode("utf-16-le")
    head = bof(0x0005) + xf(0) + xf(14)
    sheet_at = len(head) + 4 + 8 + len(name) + 4
    boundsheet = _record(0x0085, struct.pack("<IBBBB", sheet_at, 0, 0, len(sheet), 1) + name)
    width = max(len(r) for r in rows)
    body = bof(0x0010) + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    for r, row in enumerate(rows):
        body += b"".join(_xls_cell(r, c, v) for c, v in enumerate(row) if v is not None)
    return head + boundsheet + _record(0x000A) + body + _record(0x000A)


def _cfb(stream: bytes, name: str = "Workbook") -> bytes:
    """A one-stream OLE compound file (512-byte sectors: FAT, directory, then the stream)."""
    stream = stream.ljust(4096, b"\0")
    stream += b"\0" * (-len(stream) % 512)
    sectors = len(stream) // 512
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD, end] + [3 + i for i in range(sectors - 1)] + [end]
    fat += [free] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )

    def entry(label: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = label.encode("utf-16-le") + b"\0\0" if label else b""
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", free, free, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    directory = (
        entry("Root Entry", 5, 1, end, 0)
        + entry(name, 2, free, 2, len(stream))
        + entry("", 0, free, 0, 0) * 2
    )
    return header + struct.pack("<128I", *fat) + directory + stream


def xls_bytes(rows: list[list[object]], sheet: str = "Sheet1") -> bytes:
    return _cfb(_biff8(rows, sheet))


# --- file type and size -----------------------------------------------------------------------


def test_unsupported_extension_is_rejected(tmp_path):
    path = put(tmp_path, "a.pdf", b"%PDF-1.4")
    assert "不支持的文件类型 .pdf" in rejected(path)
    assert "请上传 CSV、XLSX 或 XLS 文件" in rejected(path)


def test_format_comes_from_the_uploaded_name_not_the_stored_path(tmp_path):
    path = put(tmp_path, "upload-7f3a", "名称\n甲\n".encode())
    table = read(path, "名录.CSV")
    assert table.format == "csv"
    assert rows_of(table) == [(2, ["甲"])]


def test_txt_is_read_as_csv(tmp_path):
    table = read(put(tmp_path, "a.txt", "名称\t代码\n甲\t1\n".encode()))
    assert (table.format, table.delimiter) == ("csv", "\t")


def test_file_over_max_bytes_is_rejected_before_reading(tmp_path):
    path = put(tmp_path, "a.csv", b"a,b\n1,2\n" * 10)
    message = rejected(path, limits=Limits(max_bytes=20))
    assert "超过上限" in message


def test_empty_file_is_rejected(tmp_path):
    assert rejected(put(tmp_path, "a.csv", b"")) == "文件是空的"


def test_file_with_only_blank_lines_has_no_header(tmp_path):
    assert "找不到表头行" in rejected(put(tmp_path, "a.csv", b"\n , \n,,\n"))


# --- CSV encodings ----------------------------------------------------------------------------


def test_utf8_csv(tmp_path):
    table = read(put(tmp_path, "a.csv", GBK_SAMPLE.encode("utf-8")))
    assert table.encoding == "utf-8"
    assert table.headers == ["企业名称", "统一社会信用代码"]
    assert rows_of(table) == [(2, ["某某科技有限公司", "91131000MA0XXXXX0X"])]


def test_utf8_bom_is_removed_from_the_first_header(tmp_path):
    table = read(put(tmp_path, "a.csv", codecs.BOM_UTF8 + GBK_SAMPLE.encode()))
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "企业名称"


def test_gbk_csv_is_read_as_gb18030(tmp_path):
    table = read(put(tmp_path, "a.csv", GBK_SAMPLE.encode("gbk")))
    assert table.encoding == "gb18030"
    assert rows_of(table) == [(2, ["某某科技有限公司", "91131000MA0XXXXX0X"])]


def test_short_gbk_csv_is_not_mistaken_for_korean_or_big5(tmp_path):
    data = "名称\n张三\n".encode("gbk")
    table = read(put(tmp_path, "a.csv", data))
    assert table.encoding == "gb18030"
    assert (table.headers, rows_of(table)) == (["名称"], [(2, ["张三"])])


def test_gb18030_only_characters(tmp_path):
    text = "企业名称,法定代表人\n某某商行,王𠀀\n"
    table = read(put(tmp_path, "a.csv", text.encode("gb18030")))
    assert table.encoding == "gb18030"
    assert rows_of(table) == [(2, ["某某商行", "王𠀀"])]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, codec):
    data = GBK_SAMPLE.encode(codec)
    if codec != "utf-16":
        bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
        data = bom + data
    table = read(put(tmp_path, "a.csv", data))
    assert table.encoding == "utf-16"
    assert table.headers == ["企业名称", "统一社会信用代码"]
    assert rows_of(table) == [(2, ["某某科技有限公司", "91131000MA0XXXXX0X"])]


def test_utf16_without_bom_is_refused_not_read_as_garbage(tmp_path):
    message = rejected(put(tmp_path, "a.csv", GBK_SAMPLE.encode("utf-16-le")))
    assert "UTF-16" in message
    assert "请选择编码" in message


def test_utf16_without_bom_reads_with_a_manual_encoding(tmp_path):
    table = read(put(tmp_path, "a.csv", GBK_SAMPLE.encode("utf-16-le")), encoding="utf-16-le")
    assert rows_of(table) == [(2, ["某某科技有限公司", "91131000MA0XXXXX0X"])]


def test_manual_encoding_overrides_detection(tmp_path):
    table = read(put(tmp_path, "a.csv", GBK_SAMPLE.encode("gbk")), encoding="GBK")
    assert table.encoding == "gbk"
    assert table.headers == ["企业名称", "统一社会信用代码"]


def test_manual_utf8_on_a_bom_file_drops_the_bom(tmp_path):
    table = read(put(tmp_path, "a.csv", codecs.BOM_UTF8 + b"a,b\n1,2\n"), encoding="utf-8")
    assert table.headers == ["a", "b"]


def test_wrong_manual_encoding_names_the_line(tmp_path):
    data = "name,code\nabc,1\n企业,2\n".encode("gbk")  # C6 F3: not UTF-8
    message = rejected(put(tmp_path, "a.csv", data), encoding="utf-8")
    assert "第 3 行" in message
    assert "utf-8" in message


def test_manual_gbk_cannot_decode_gb18030_only_characters(tmp_path):
    data = "名称\n甲\n王𠀀\n".encode("gb18030")
    assert "第 3 行" in rejected(put(tmp_path, "a.csv", data), encoding="gbk")


def test_unknown_manual_encoding_is_rejected(tmp_path):
    path = put(tmp_path, "a.csv", b"a\n1\n")
    assert "不支持的编码" in rejected(path, encoding="klingon")
    assert "不支持的编码" in rejected(path, encoding="base64")


def test_undecodable_file_asks_for_an_encoding(tmp_path):
    message = rejected(put(tmp_path, "a.csv", b"a,b\n\x80\xff,1\n"))
    assert "无法识别文件编码" in message
    assert "请选择编码后重新上传" in message


def test_utf8_bom_file_with_bad_bytes_names_the_line(tmp_path):
    data = codecs.BOM_UTF8 + "名称\n甲\n".encode() + "乙\n".encode("gbk")
    message = rejected(put(tmp_path, "a.csv", data))
    assert "UTF-8" in message and "第 3 行" in message


def test_bad_bytes_past_the_part_the_encoding_is_picked_on_name_their_line(tmp_path):
    # The encoding is picked on the first 4 MB with a non-ASCII byte; the rest is decoded as
    # the rows are read, and GBK bytes deep in a UTF-8 file still reject it with their line.
    rows = "".join(f"某某科技有限公司{i},{i}\n" for i in range(200_000))  # > 4 MB of UTF-8
    data = "名称,代码\n".encode() + rows.encode() + "乙,1\n".encode("gbk")
    message = rejected(put(tmp_path, "a.csv", data))
    assert "第 200002 行" in message and "utf-8" in message


def test_nul_deep_in_a_file_is_found_before_any_row(tmp_path):
    rows = "".join(f"某某科技有限公司{i},{i}\n" for i in range(200_000)).encode("gbk")
    path = put(tmp_path, "a.csv", "名称,代码\n".encode("gbk") + rows + b"a\x00,1\n")
    with pytest.raises(FileRejected, match="第 200002 行含有空字符"):
        read(path)


def test_csv_named_file_holding_a_workbook_is_refused(tmp_path):
    source = xlsx_file(tmp_path / "real.xlsx", {"A1": "名称"})
    path = put(tmp_path, "a.csv", source.read_bytes())
    assert "内容是 Excel 工作簿" in rejected(path)


# --- CSV structure ----------------------------------------------------------------------------


def test_tab_delimited(tmp_path):
    table = read(put(tmp_path, "a.csv", "企业名称\t代码\n某某, 有限公司\t1\n".encode()))
    assert table.delimiter == "\t"
    assert rows_of(table) == [(2, ["某某, 有限公司", "1"])]


def test_semicolon_delimited(tmp_path):
    table = read(put(tmp_path, "a.csv", b"a;b;c\n1;2,5;3\n"))
    assert table.delimiter == ";"
    assert rows_of(table) == [(2, ["1", "2,5", "3"])]


def test_single_column_defaults_to_comma(tmp_path):
    table = read(put(tmp_path, "a.csv", "名称\n甲\n".encode()))
    assert (table.delimiter, table.headers) == (",", ["名称"])


def test_excel_sep_hint_line_is_honoured_and_not_data(tmp_path):
    table = read(put(tmp_path, "a.csv", b"sep=;\na;b\n1,5;2\n"))
    assert (table.delimiter, table.headers, table.header_row) == (";", ["a", "b"], 2)
    assert rows_of(table) == [(3, ["1,5", "2"])]


def test_quoted_newlines_keep_row_numbers_of_the_first_line(tmp_path):
    data = b'name,address\r\nA,"line 1\r\nline 2"\r\nB,x\r\n"C","a\nb\nc"\r\nD,y\r\n'
    table = read(put(tmp_path, "a.csv", data))
    assert rows_of(table) == [
        (2, ["A", "line 1\r\nline 2"]),
        (4, ["B", "x"]),
        (5, ["C", "a\nb\nc"]),
        (8, ["D", "y"]),
    ]


def test_blank_rows_are_skipped_counted_and_numbering_kept(tmp_path):
    data = "\n\n名称,代码\n甲,1\n\n , \n,,,\n乙,2\n\n".encode()
    table = read(put(tmp_path, "a.csv", data))
    assert table.header_row == 3
    assert rows_of(table) == [(4, ["甲", "1"]), (8, ["乙", "2"])]
    assert table.blank_rows == 4


def test_rows_are_an_iterator_and_blank_rows_grow_while_reading(tmp_path):
    table = read(put(tmp_path, "a.csv", b"a\n\n1\n\n2\n"))
    assert iter(table.rows) is table.rows
    assert next(table.rows) == (3, ["1"])
    assert table.blank_rows == 1
    assert list(table) == [(5, ["2"])]
    assert table.blank_rows == 2


def test_cells_are_stripped_including_ideographic_spaces(tmp_path):
    table = read(put(tmp_path, "a.csv", " 名称 ,代码\n\u3000甲\u3000, 1 \n".encode()))
    assert table.headers == ["名称", "代码"]
    assert rows_of(table) == [(2, ["甲", "1"])]


def test_short_rows_are_padded_and_extra_cells_kept(tmp_path):
    table = read(put(tmp_path, "a.csv", b"a,b,c\n1\n1,2,3,4,,\n1,2,3,,\n"))
    assert rows_of(table) == [
        (2, ["1", "", ""]),
        (3, ["1", "2", "3", "4"]),
        (4, ["1", "2", "3"]),
    ]


def test_trailing_empty_headers_are_dropped(tmp_path):
    table = read(put(tmp_path, "a.csv", b"a,b,,\n1,2,,\n"))
    assert table.headers == ["a", "b"]
    assert rows_of(table) == [(2, ["1", "2"])]


def test_duplicate_headers_are_named(tmp_path):
    message = rejected(put(tmp_path, "a.csv", "名称,代码,名称\n".encode()))
    assert "表头重复" in message
    assert "「名称」（第 1 列、第 3 列）" in message


def test_too_many_columns(tmp_path):
    message = rejected(put(tmp_path, "a.csv", b"a,b,c,d\n"), limits=Limits(max_columns=3))
    assert "4 列" in message and "3 列" in message


def test_too_many_rows_is_reported_while_reading(tmp_path):
    table = read(put(tmp_path, "a.csv", b"a\n1\n\n2\n3\n"), limits=Limits(max_rows=2))
    assert next(table.rows) == (2, ["1"])
    assert next(table.rows) == (4, ["2"])
    with pytest.raises(FileRejected, match="数据超过 2 行的上限（第 5 行）"):
        next(table.rows)


def test_unclosed_quote_is_reported_with_its_line(tmp_path):
    data = b'a,b\n1,2\n3,"unterminated\n4,5\n'
    message = rejected(put(tmp_path, "a.csv", data))
    assert "第 3 行" in message and "引号没有闭合" in message


def test_text_after_a_closing_quote_is_reported_not_guessed(tmp_path):
    message = rejected(put(tmp_path, "a.csv", b'a,b\n1,2\n"x"y,3\n'))
    assert "第 3 行" in message and "引号" in message


def test_quote_inside_an_unquoted_field_is_kept(tmp_path):
    table = read(put(tmp_path, "a.csv", '名称\n某某"科技"公司\n"a ""b"""\n'.encode()))
    assert rows_of(table) == [(2, ['某某"科技"公司']), (3, ['a "b"'])]


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_values_read_as_the_clerk_sees_them(tmp_path):
    path = xlsx_file(
        tmp_path / "a.xlsx",
        {
            "A1": "电话",
            "B1": "代码",
            "C1": "执法证号",
            "D1": "金额",
            "E1": "小数",
            "F1": "日期",
            "G1": "时间戳",
            "H1": "时间",
            "I1": "布尔",
            "J1": "空",
            "K1": "大数",
            "L1": "文本",
            "A2": 13012345678,
            "B2": 91110105,
            "C2": 123456789012345,
            "D2": 1234.5,
            "E2": 0.1,
            "F2": dt.date(2024, 5, 6),
            "G2": dt.datetime(2024, 5, 6, 13, 4, 5),
            "H2": dt.time(8, 30),
            "I2": True,
            "K2": 1e20,
            "L2": "  某某  ",
            "A3": 3.0,
            "E3": 2.5e-05,
            "I3": False,
            "L3": "x",
        },
    )
    table = read(path)
    assert table.format == "xlsx" and table.sheet == "Sheet1" and table.encoding is None
    assert rows_of(table) == [
        (
            2,
            [
                "13012345678",
                "91110105",
                "123456789012345",
                "1234.5",
                "0.1",
                "2024-05-06",
                "2024-05-06 13:04:05",
                "08:30:00",
                "TRUE",
                "",
                "100000000000000000000",
                "某某",
            ],
        ),
        (3, ["3", "", "", "", "0.000025", "", "", "", "FALSE", "", "", "x"]),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (13012345678.0, "13012345678"),
        (91110105, "91110105"),
        (-0.0, "0"),
        (0.30000000000000004, "0.3"),  # Excel shows 15 significant digits
        (123456789012345678, "123456789012345678"),  # an int stays exact
        (123456789012345678.0, "123456789012346000"),  # as Excel shows the double
        (1.5e-7, "0.00000015"),
        (-2.5, "-2.5"),
        (True, "TRUE"),
        (dt.datetime(2024, 1, 31, 23, 59, 59, 600_000), "2024-02-01 00:00:00"),
        (dt.time(11, 59, 59, 999_999), "12:00:00"),
        (dt.timedelta(days=1, hours=12), "36:00:00"),
        (None, ""),
    ],
)
def test_cell_text_conversion(value, text):
    assert tabular._text(value) == text


def _decimal_text(value: float) -> str:
    """What Excel shows for a finite double: 15 significant digits, no exponent."""
    number = Decimal(repr(value))
    if len(number.as_tuple().digits) > 15:
        number = Decimal(f"{value:.15g}")
    text = format(number, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if number == 0 else text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_shortcut_agrees_with_the_decimal_way(value):
    assert tabular._number_text(value) == _decimal_text(value)


def test_rows_with_text_then_numbers_then_text_again_all_read(tmp_path):
    cells = {"A1": "名称", "B1": "代码", "A2": " 甲 ", "B2": "x", "A3": "乙", "B3": 2.5}
    path = xlsx_file(tmp_path / "a.xlsx", {**cells, "A4": "丙", "B4": "y"})
    assert rows_of(read(path)) == [(2, ["甲", "x"]), (3, ["乙", "2.5"]), (4, ["丙", "y"])]


def test_xlsx_rows_and_columns_keep_excel_numbering_when_data_starts_at_b3(tmp_path):
    path = xlsx_file(tmp_path / "a.xlsx", {"B3": "名称", "C3": "代码", "B4": "甲", "C6": "2"})
    table = read(path)
    assert table.header_row == 3
    assert table.headers == ["", "名称", "代码"]
    assert rows_of(table) == [(4, ["", "甲", ""]), (6, ["", "", "2"])]
    assert table.blank_rows == 1


def test_xlsx_error_cells_are_shown_not_emptied(tmp_path):
    """calamine reads "#N/A" as an empty cell; the clerk sees #N/A, so we report #N/A."""
    cells = {"A1": "名称", "B1": "备注", "C1": "代码", "A2": "甲", "C2": 1, "A3": "乙", "C3": 2}
    path = xlsx_file(tmp_path / "a.xlsx", cells, sheet="名录 & 2")
    patch_zip(
        path,
        "xl/worksheets/sheet1.xml",
        b'<c r="C2" t="n"><v>1</v></c>',
        b'<c r="B2" s="0"/><c r="C2" t="e"><f>VLOOKUP(A2,X!A:B,2,0)</f><v>#N/A</v></c>',
    )
    assert rows_of(read(path)) == [(2, ["甲", "", "#N/A"]), (3, ["乙", "", "2"])]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_error_cells_are_found_wherever_the_chunks_split_them(monkeypatch, chunk):
    cells = [
        '<c r="A1" t="inlineStr"><is><t>t="e" is only text here</t></is></c>',
        '<c r="B1" t="e"><f>VLOOKUP(A1,X!A:B,2,0)</f><v>#N/A</v></c>',
        '<x:c r="C1" s="2" t="e"><x:v>#DIV/0!</x:v></x:c>',
        '<c r="D1" t="e"/>',
        '<c r="E1"><v>1.5</v></c>',
        '<c r="AB7" t="e"><v>#REF!</v></c>',
        '<c r="B9" t="e"><v>&lt;#VALUE!</v></c>',
    ]
    xml = ("<worksheet><sheetData>" + "".join(cells) + "</sheetData></worksheet>").encode()
    monkeypatch.setattr(tabular, "_SCAN_CHUNK", chunk)
    assert tabular._scan_errors(io.BytesIO(xml)) == {
        0: {1: "#N/A", 2: "#DIV/0!"},
        6: {27: "#REF!"},
        8: {1: "<#VALUE!"},
    }


def test_xlsx_first_sheet_with_data_is_picked_and_hidden_sheets_come_last(tmp_path):
    path = tmp_path / "a.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    hidden = workbook.create_sheet("隐藏")
    hidden["A1"] = "旧表头"
    hidden.sheet_state = "hidden"
    data = workbook.create_sheet("名录")
    data["A1"], data["A2"] = "名称", "甲"
    workbook.save(path)
    table = read(path)
    assert table.sheet == "名录"
    assert table.sheet_names == ["说明", "隐藏", "名录"]
    assert read(path, sheet="隐藏").headers == ["旧表头"]


def test_xlsx_sheet_by_name(tmp_path):
    path = tmp_path / "a.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "第一"
    second = workbook.create_sheet("检查对象")
    second["A1"], second["A2"] = "名称", "乙"
    workbook.save(path)
    table = read(path, sheet="检查对象")
    assert (table.sheet, table.headers, rows_of(table)) == ("检查对象", ["名称"], [(2, ["乙"])])


def test_unknown_sheet_lists_the_sheets(tmp_path):
    path = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称"}, sheet="名录")
    with pytest.raises(FileRejected) as info:
        read(path, sheet="Sheet9")
    assert "没有名为「Sheet9」的工作表" in info.value.message
    assert "「名录」" in info.value.message
    assert info.value.errors["sheets"] == ["名录"]


def test_named_sheet_without_data(tmp_path):
    path = tmp_path / "a.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "名称"
    workbook.create_sheet("空表")
    workbook.save(path)
    assert "工作表「空表」中没有数据" in rejected(path, sheet="空表")


def test_workbook_without_any_data(tmp_path):
    path = tmp_path / "a.xlsx"
    openpyxl.Workbook().save(path)
    assert "工作簿中没有数据" in rejected(path)


def test_xlsx_duplicate_headers_name_excel_columns(tmp_path):
    path = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称", "B1": "代码", "C1": "名称 "})
    assert "「名称」（A 列、C 列）" in rejected(path)


def test_xlsx_stored_without_extension_is_read(tmp_path):
    source = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称", "A2": "甲"})
    path = put(tmp_path, "upload-1", source.read_bytes())
    assert rows_of(read(path, "名录.xlsx")) == [(2, ["甲"])]


def test_xls_named_file_holding_xlsx_is_read_as_xlsx(tmp_path):
    source = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称", "A2": "甲"})
    table = read(put(tmp_path, "old.xls", source.read_bytes()))
    assert table.format == "xlsx"
    assert rows_of(table) == [(2, ["甲"])]


def test_xlsm_is_read_as_xlsx(tmp_path):
    source = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称", "A2": "甲"})
    assert read(put(tmp_path, "a.xlsm", source.read_bytes())).format == "xlsx"


# --- zip safety -------------------------------------------------------------------------------


def zip_with(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_bomb_over_unpacked_limit_is_refused_before_parsing(tmp_path):
    path = zip_with(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": bytes(20_000_000)})
    message = rejected(path, limits=Limits(max_unpacked_bytes=10_000_000))
    assert "解压后大小" in message and "压缩炸弹" in message


def test_zip_bomb_compression_ratio_is_refused(tmp_path):
    path = zip_with(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": bytes(20_000_000)})
    message = rejected(path)
    assert "压缩比异常" in message and "xl/worksheets/sheet1.xml" in message


def test_too_many_zip_entries(tmp_path):
    path = zip_with(tmp_path / "many.xlsx", {f"f{i}.xml": b"x" for i in range(30)})
    message = rejected(path, limits=Limits(max_zip_entries=20))
    assert "30 个压缩条目" in message


def understated(source: Path, path: Path) -> Path:
    """A copy of `source` whose sheet1.xml claims 10 bytes unpacked, as a zip bomb would."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    record = data.find(b"PK\x01\x02")
    while True:
        name_len = struct.unpack_from("<H", data, record + 28)[0]
        if data[record + 46 : record + 46 + name_len] == info.filename.encode():
            break
        record = data.find(b"PK\x01\x02", record + 4)
    struct.pack_into("<I", data, record + 24, 10)
    return put(path.parent, path.name, bytes(data))


def test_entry_larger_than_its_header_says_is_refused(tmp_path):
    source = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称", "A2": "甲"})
    path = understated(source, tmp_path / "liar.xlsx")
    assert "文件已损坏" in rejected(path)


def test_calamine_itself_stops_an_entry_at_its_declared_size(tmp_path):
    """open_table lets calamine parse while the archive is still being scanned: this pins the
    reason that is safe (the headers' sizes, checked first, bound what calamine unpacks)."""
    source = xlsx_file(tmp_path / "a.xlsx", {f"A{i}": "名称" * 50 for i in range(1, 2000)})
    path = understated(source, tmp_path / "liar.xlsx")
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    with pytest.raises(python_calamine.CalamineError, match="declared uncompressed size"):
        workbook.get_sheet_by_name("Sheet1")


def test_truncated_zip_is_reported_as_damaged(tmp_path):
    source = xlsx_file(tmp_path / "a.xlsx", {"A1": "名称"})
    path = put(tmp_path, "cut.xlsx", source.read_bytes()[:300])
    assert rejected(path).startswith("文件已损坏或不是有效的 Excel 文件")


def test_zip_that_is_not_a_workbook(tmp_path):
    path = zip_with(tmp_path / "a.xlsx", {"readme.txt": b"hello"})
    assert rejected(path).startswith("文件已损坏或不是有效的 Excel 文件")


def test_text_file_named_xlsx_gets_advice(tmp_path):
    message = rejected(put(tmp_path, "a.xlsx", b"a,b\n1,2\n"))
    assert "内容不是 Excel 工作簿" in message and ".csv" in message


def test_html_file_named_xls_gets_advice(tmp_path):
    path = put(tmp_path, "export.xls", b"<html><body><table><tr><td>1</td></tr></table>")
    message = rejected(path)
    assert "网页（HTML）" in message and "另存为" in message


def test_encrypted_xlsx_asks_to_remove_the_password(tmp_path):
    path = put(tmp_path, "secret.xlsx", _cfb(b"\0" * 100, name="EncryptedPackage"))
    assert "密码" in rejected(path)


# --- XLS --------------------------------------------------------------------------------------


def test_xls_is_read(tmp_path):
    rows = [
        ["企业名称", "电话", "成立日期", "是否异常"],
        ["某某科技", 13012345678, dt.date(2023, 3, 15), True],
        [None],
        ["乙", 0.1, None, False],
    ]
    table = read(put(tmp_path, "a.xls", xls_bytes(rows, sheet="名录")))
    assert (table.format, table.sheet) == ("xls", "名录")
    assert table.headers == ["企业名称", "电话", "成立日期", "是否异常"]
    assert rows_of(table) == [
        (2, ["某某科技", "13012345678", "2023-03-15", "TRUE"]),
        (4, ["乙", "0.1", "", "FALSE"]),
    ]
    assert table.blank_rows == 1


def test_corrupted_xls_is_rejected(tmp_path):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 20
    assert rejected(put(tmp_path, "a.xls", data)).startswith("文件已损坏")


# --- header mapping ---------------------------------------------------------------------------

COLUMNS = [
    Column("uscc", "统一社会信用代码", ("信用代码", "USCC", "credit_code"), required=True),
    Column("name", "企业名称", ("名称", "Name"), required=True),
    Column("address", "住所", ("地址", "注册地址")),
    Column("phone", "联系电话", ("电话",)),
]


def test_map_headers_by_label_alias_and_field_name():
    mapping = map_headers(["企业名称", "USCC", "address", "备注"], COLUMNS)
    assert mapping.index == {"name": 0, "uscc": 1, "address": 2}
    assert mapping.matched == [("企业名称", "name"), ("USCC", "uscc"), ("address", "address")]
    assert mapping.unknown == ["备注"]
    assert mapping.missing == []


@pytest.mark.parametrize(
    "header",
    [
        "企业名称",
        " 企业 名称 ",
        "企业名称(必填)",
        "企业名称（必填）",
        "企业名称*",
        "*企业名称",
        "企业名称＊",
        "ＮＡＭＥ",
        "name",
        "Name ",
        "企业\n名称",
        "企业\u3000名称",
    ],
)
def test_map_headers_normalises_width_space_case_and_required_marks(header):
    assert map_headers([header], COLUMNS).index == {"name": 0}


def test_map_headers_reports_missing_required_labels():
    mapping = map_headers(["名称", "电话"], COLUMNS)
    assert mapping.missing == ["统一社会信用代码"]
    assert mapping.index == {"name": 0, "phone": 1}


def test_two_headers_for_one_field_are_rejected_naming_both():
    with pytest.raises(FileRejected) as info:
        map_headers(["企业名称", "信用代码", "名称"], COLUMNS)
    assert "「企业名称」和「名称」" in info.value.message
    assert "「企业名称」，请删除或改名" in info.value.message


def test_empty_header_between_named_ones_is_listed_as_ignored():
    mapping = map_headers(["", "企业名称", "", "信用代码"], COLUMNS)
    assert mapping.unknown == ["（第 3 列，无表头）"]
    assert mapping.index == {"name": 1, "uscc": 3}


# --- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+8613012345678", "'+8613012345678"),
        ("-1", "'-1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\0x", "'\0x"),
        ("normal", "normal"),
        ("", ""),
        ("a=b", "a=b"),
        (5, 5),
        (-1, -1),
        (None, None),
    ],
)
def test_escape_cell(value, escaped):
    assert escape_cell(value) == escaped


def test_write_csv_is_utf8_with_bom_and_crlf(tmp_path):
    buffer = io.BytesIO()
    count = write_csv(buffer, ["名称", "金额"], [["甲", 1.5], ["=HYPERLINK(1)", None]])
    assert count == 2
    data = buffer.getvalue()
    assert data.startswith(codecs.BOM_UTF8)
    assert data[3:].decode() == "名称,金额\r\n甲,1.5\r\n'=HYPERLINK(1),\r\n"


def test_write_csv_formats_values_like_open_table_reads_them():
    buffer = io.BytesIO()
    rows = [[13012345678.0, True, dt.date(2024, 5, 6), dt.datetime(2024, 5, 6, 8, 0), -3]]
    write_csv(buffer, ["a", "b", "c", "d", "e"], rows)
    assert buffer.getvalue().decode("utf-8-sig").splitlines()[1] == (
        "13012345678,TRUE,2024-05-06,2024-05-06 08:00:00,-3"
    )


def test_write_csv_shows_aware_datetimes_in_beijing_time():
    buffer = io.BytesIO()
    write_csv(buffer, ["时间"], [[dt.datetime(2024, 5, 6, 0, 30, tzinfo=dt.UTC)]])
    assert buffer.getvalue().decode("utf-8-sig").splitlines()[1] == "2024-05-06 08:30:00"


def test_write_csv_round_trips_through_open_table(tmp_path):
    rows = [["某某科技有限公司", "91131000MA0XXXXX0X", "多\n行"], ["乙", "0012", "=1+1"]]
    path = tmp_path / "out.csv"
    with path.open("wb") as fh:
        write_csv(fh, ["企业名称", "统一社会信用代码", "备注"], rows)
    table = read(path)
    assert table.encoding == "utf-8-sig"
    assert table.headers == ["企业名称", "统一社会信用代码", "备注"]
    assert rows_of(table) == [
        (2, ["某某科技有限公司", "91131000MA0XXXXX0X", "多\n行"]),
        (4, ["乙", "0012", "'=1+1"]),
    ]


cell_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=8))
def test_csv_export_reads_back_as_the_escaped_text(tmp_path, rows):
    path = tmp_path / "prop.csv"
    with path.open("wb") as fh:
        write_csv(fh, ["a", "b", "c"], rows)
    expected = [[escape_cell(v).strip() for v in row] for row in rows]
    assert [cells for _, cells in rows_of(read(path))] == [r for r in expected if any(r)]


def test_write_xlsx_never_writes_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    count = write_xlsx(path, ["名称", "公式"], [["甲", "=1+1"], ["乙", "@SUM(A1)"]])
    assert count == 2
    ws = openpyxl.load_workbook(path).active
    assert ws["B2"].value == "'=1+1"
    assert ws["B2"].data_type != "f"
    assert ws["B3"].value == "'@SUM(A1)"
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet1")
    assert sheet.to_python()[1] == ["甲", "'=1+1"]


def test_write_xlsx_types_header_and_layout(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [
        [
            13012345678,
            1.5,
            dt.date(2024, 5, 6),
            dt.datetime(2024, 5, 6, 8, 30),
            True,
            None,
            "0012",
            123456789012345678,
            "某某科技有限公司某某科技有限公司",
        ],
    ]
    headers = ["电话", "金额", "日期", "时间", "布尔", "空", "文本", "长整数", "名称"]
    write_xlsx(path, headers, rows, sheet_name="名录:2024/05")
    workbook = openpyxl.load_workbook(path)
    ws = workbook.active
    assert ws.title == "名录_2024_05"
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert (ws["A2"].value, ws["A2"].data_type) == (13012345678, "n")
    assert ws["B2"].value == 1.5
    assert ws["C2"].is_date and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["C2"].value == dt.datetime(2024, 5, 6)
    assert ws["D2"].value == dt.datetime(2024, 5, 6, 8, 30)
    assert ws["E2"].value is True
    assert ws["F2"].value is None
    assert (ws["G2"].value, ws["G2"].data_type) == ("0012", "s")
    assert ws["H2"].value == "123456789012345678"  # Excel would round it as a number
    assert ws.column_dimensions["I"].width > ws.column_dimensions["B"].width


def test_write_xlsx_reads_back_through_open_table(tmp_path):
    buffer = io.BytesIO()
    write_xlsx(buffer, ["名称", "电话", "日期"], [["甲", 13012345678, dt.date(2024, 5, 6)]])
    path = put(tmp_path, "out.xlsx", buffer.getvalue())
    assert rows_of(read(path)) == [(2, ["甲", "13012345678", "2024-05-06"])]


def test_write_xlsx_refuses_to_cut_a_long_cell(tmp_path):
    with pytest.raises(Invalid, match="第 2 行「备注」.*32,767"):
        write_xlsx(tmp_path / "out.xlsx", ["备注"], [["x" * 40_000]])


def test_write_xlsx_refuses_to_drop_rows_past_the_sheet_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_XLSX_MAX_ROWS", 3)
    with pytest.raises(Invalid, match="请改用 CSV"):
        write_xlsx(tmp_path / "out.xlsx", ["a"], [[1], [2], [3]])


def test_xlsxwriter_default_would_have_written_a_formula(tmp_path):
    """Why the options matter: without them "=1+1" becomes a live formula."""
    path = tmp_path / "default.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet().write(0, 0, "=1+1")
    workbook.close()
    assert openpyxl.load_workbook(path).active["A1"].data_type == "f"


# --- sheets that reach too far (calamine allocates the box from A1 to the farthest cell) -------


def sheet_xlsx(path: Path, sheet_data: str, *, dimension: str | None = None, ns: str = "") -> Path:
    """A minimal .xlsx around one worksheet's <sheetData> (built by hand: the hostile shapes
    below are what no writer produces). `ns`: an element prefix (`x:`) for the worksheet."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    dim = f'<{ns}dimension ref="{dimension}"/>' if dimension else ""
    xmlns = f'xmlns:{ns[:-1]}="{main}"' if ns else f'xmlns="{main}"'
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f"<{ns}worksheet {xmlns}>{dim}<{ns}sheetData>{sheet_data}</{ns}sheetData>"
            f"</{ns}worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def _cell(ref: str, text: str, ns: str = "") -> str:
    return f'<{ns}c r="{ref}" t="inlineStr"><{ns}is><{ns}t>{text}</{ns}t></{ns}is></{ns}c>'


HEAD_ROW = f'<row r="1">{_cell("A1", "名称")}{_cell("B1", "代码")}</row>'


def test_one_cell_at_the_last_row_and_column_is_refused_before_parsing(tmp_path):
    # 5 KB that would make calamine ask for 512 GiB and abort the process.
    path = sheet_xlsx(
        tmp_path / "far.xlsx", HEAD_ROW + f'<row r="1048576">{_cell("XFD1048576", "x")}</row>'
    )
    assert path.stat().st_size < 5000
    message = rejected(path)
    assert "数据区域过大" in message and "1,048,576 行 × 16,384 列" in message


def test_a_box_of_too_many_cells_is_refused(tmp_path):
    # AZ1048576: 52 columns within the limit, 1,048,576 rows too, but 54.5 million cells (1.7 GB).
    path = sheet_xlsx(
        tmp_path / "az.xlsx", HEAD_ROW + f'<row r="1048576">{_cell("AZ1048576", "x")}</row>'
    )
    assert "1,048,576 行 × 52 列" in rejected(path)


def test_sheet_limits_are_configurable(tmp_path):
    rows = "".join(
        f'<row r="{r}">' + "".join(_cell(f"{c}{r}", f"{c}{r}") for c in "ABC") + "</row>"
        for r in range(1, 4)
    )
    path = sheet_xlsx(tmp_path / "small.xlsx", rows)
    assert len(rows_of(read(path))) == 2
    assert "3 行 × 3 列" in rejected(path, limits=Limits(max_sheet_cells=8))
    assert "数据区域过大" in rejected(path, limits=Limits(max_sheet_rows=2))
    assert "数据区域过大" in rejected(path, limits=Limits(max_sheet_columns=2))


def test_a_declared_dimension_beyond_the_limits_is_refused(tmp_path):
    path = sheet_xlsx(tmp_path / "dim.xlsx", HEAD_ROW, dimension="A1:XFD1048576")
    assert "数据区域过大" in rejected(path)
    assert len(rows_of(read(sheet_xlsx(tmp_path / "ok.xlsx", HEAD_ROW, dimension="A1:B1")))) == 0


def test_cells_without_a_ref_count_after_the_last_one(tmp_path):
    # XFD is the last column; a cell without a ref after it is one further.
    at_the_edge = HEAD_ROW + f'<row r="2">{_cell("XFD2", "x")}</row>'
    assert rows_of(read(sheet_xlsx(tmp_path / "edge.xlsx", at_the_edge)))
    beyond = (
        HEAD_ROW + f'<row r="2">{_cell("XFD2", "x")}<c t="inlineStr"><is><t>y</t></is></c></row>'
    )
    assert "16,385 列" in rejected(sheet_xlsx(tmp_path / "beyond.xlsx", beyond))


def test_a_prefixed_worksheet_is_measured_too(tmp_path):
    data = (
        f'<x:row r="1">{_cell("A1", "名称", "x:")}</x:row>'
        f'<x:row r="1048576">{_cell("XFD1048576", "x", "x:")}</x:row>'
    )
    assert "数据区域过大" in rejected(sheet_xlsx(tmp_path / "ns.xlsx", data, ns="x:"))


def test_a_ref_cut_by_a_chunk_boundary_is_still_read(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_EXTENT_CHUNK", 7)  # every ref crosses a boundary somewhere
    path = sheet_xlsx(
        tmp_path / "far.xlsx", HEAD_ROW + f'<row r="1048576">{_cell("XFD1048576", "x")}</row>'
    )
    assert "1,048,576 行 × 16,384 列" in rejected(path)
    ok = sheet_xlsx(tmp_path / "ok.xlsx", HEAD_ROW + f'<row r="2">{_cell("B2", "x")}</row>')
    assert rows_of(read(ok)) == [(2, ["", "x"])]


def _mini_cfb(stream: bytes, name: str = "Workbook") -> bytes:
    """A compound file holding `stream` (under 4096 bytes) in its mini stream, as writers other
    than Excel store a small workbook: FAT, directory, MiniFAT, then the mini stream's sectors."""
    assert len(stream) < 4096
    minis = -(-len(stream) // 64)
    container = stream.ljust(minis * 64, b"\0")
    container += b"\0" * (-len(container) % 512)
    sectors = len(container) // 512
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD, end, end] + [4 + i for i in range(sectors - 1)] + [end]
    fat += [free] * (128 - len(fat))
    minifat = [i + 1 for i in range(minis - 1)] + [end]
    minifat += [free] * (128 - len(minifat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 2, 1, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )

    def entry(label: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = label.encode("utf-16-le") + b"\0\0" if label else b""
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", free, free, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    directory = (
        entry("Root Entry", 5, 1, 3, minis * 64)
        + entry(name, 2, free, 0, len(stream))
        + entry("", 0, free, 0, 0) * 2
    )
    return (
        header + struct.pack("<128I", *fat) + directory + struct.pack("<128I", *minifat) + container
    )


def _far_biff(row: int, col: int, kind: int = 0x0204) -> bytes:
    """A BIFF8 workbook with a header row and one more record at (row, col)."""
    workbook = _biff8([["统一社会信用代码", "企业名称"]], "Sheet1")
    if kind == 0x00BE:  # MULBLANK from column 0 to `col`
        far = _record(kind, struct.pack("<HHHH", row, 0, 0, col))
    else:
        far = _xls_cell(row, col, "远处")
    return workbook[:-4] + far + workbook[-4:]  # before the sheet's EOF


def test_an_xls_cell_beyond_any_column_is_refused_before_parsing(tmp_path):
    # calamine takes the 16-bit column as it is: 65536 × 65536 cells, and the process aborts.
    path = put(tmp_path, "far.xls", _cfb(_far_biff(65535, 65535)))
    assert "65,536 行 × 65,536 列" in rejected(path)
    mulblank = put(tmp_path, "mulblank.xls", _cfb(_far_biff(3, 40000, kind=0x00BE)))
    assert "4 行 × 40,001 列" in rejected(mulblank)


def test_xls_sheet_limits_apply_to_a_workbook_in_the_mini_stream(tmp_path):
    small = put(tmp_path, "small.xls", _mini_cfb(_far_biff(2, 3)))
    table = read(small)
    assert table.headers == ["统一社会信用代码", "企业名称"]
    assert "3 行 × 4 列" in rejected(small, limits=Limits(max_sheet_cells=11))
    far = put(tmp_path, "far.xls", _mini_cfb(_far_biff(65535, 65535)))
    assert "数据区域过大" in rejected(far)


def test_an_xls_whose_sector_chain_loops_is_refused_as_damaged(tmp_path):
    data = bytearray(_cfb(_biff8([["a", "b"]], "Sheet1")))
    # The FAT (sector 0, at 512) entry of the directory's sector 1 points back to itself.
    struct.pack_into("<I", data, 512 + 4, 1)
    assert "已损坏" in rejected(put(tmp_path, "loop.xls", bytes(data)))
