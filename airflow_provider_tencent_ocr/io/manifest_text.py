"""Guards on a manifest's raw text, before any parser sees it: bounded lines, quoting that loses rows.

Why not leave this to pyarrow: its CSV reader folds every line after a stray or unclosed quote
into one value without an error (rows silently lost), and a file without line breaks (a link to
``/dev/zero``) grows memory without bound in any line-based reader.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import IO

from airflow_provider_tencent_ocr.exceptions import TextError

__all__ = ["MAX_LINE_BYTES", "TextError", "capped_lines", "check_csv_quoting"]


# The longest line read from a CSV or JSON Lines manifest: a file without newlines (a link to
# /dev/zero, a binary file) fails with a clear message instead of growing memory without bound.
MAX_LINE_BYTES = 1 << 20


# The rest of a quoted CSV value from the current position: anything but a quote, or a doubled quote.
_QUOTED_TEXT = re.compile(rb'[^"]*(?:""[^"]*)*')


def _quoted_end(line: bytes, start: int) -> int:
    """Where the quoted text from ``start`` ends (the pattern matches any text, the empty one too)."""
    match = _QUOTED_TEXT.match(line, start)
    return match.end() if match else start


# A line whose every value is unquoted or quoted and closed on the same line (the common case,
# checked in one regex call): it cannot open a quote that swallows the next line.
_VALUE = rb'(?:"[^"]*(?:""[^"]*)*"[^,"\r\n]*|[^,"\r\n][^,\r\n]*|)'
_CLOSED_LINE = re.compile(_VALUE + rb"(?:," + _VALUE + rb")*\r?\n?")


def check_csv_quoting(lines: Iterable[bytes]) -> None:
    """Refuse a CSV whose quoting swallows lines, naming the line where the quote opened.

    pyarrow, like any CSV reader, folds every line after an unclosed quote into one value, so a
    stray quote silently loses rows. A quoted value may span lines (an address); it is refused
    when a line inside it looks like a row of its own (as many delimiters as the header) or when
    the quote never closes. The rules are pyarrow's: a quote opens a value only at its start,
    a doubled quote inside is a literal quote.
    """
    columns = 0
    in_quote = False
    opened_at = 0
    swallowed = 0  # lines inside the open quote that look like rows
    line_no = 0
    for line_no, line in enumerate(lines, start=1):
        if line_no == 1:
            text = line.decode("utf-8-sig", errors="replace")
            columns = len(next(csv.reader([text]), [])) or 1
        pos = 0
        if in_quote:
            end = _quoted_end(line, 0)
            if line.count(b",", 0, end) >= columns - 1:
                swallowed += 1
            if end >= len(line):
                continue  # still inside the quoted value
            if swallowed:
                raise TextError(
                    f"the quote opened on line {opened_at} closes only on line {line_no}, so "
                    f"the {swallowed} line(s) in between that look like rows would be read as part of one value "
                    "and lost. Fix the quoting on that line (remove the stray quote, or double a quote inside a "
                    "quoted value)"
                )
            in_quote = False
            pos = end + 1
            comma = line.find(b",", pos)
            if comma < 0:
                continue
            pos = comma + 1
        elif b'"' not in line or _CLOSED_LINE.fullmatch(line):
            continue
        while pos < len(line):  # at the start of a value
            if line[pos] == 0x22:  # a quoted value
                end = _quoted_end(line, pos + 1)
                if end >= len(line):
                    in_quote, opened_at, swallowed = True, line_no, 0
                    break
                pos = end + 1
            comma = line.find(b",", pos)
            if comma < 0:
                break
            pos = comma + 1
    if in_quote:
        raise TextError(
            f"the quote opened on line {opened_at} is never closed, so every line after it "
            f"(through line {line_no}) would be read as part of one value and lost. Fix the quoting on that line"
        )


def capped_lines(binary: IO[bytes]) -> Iterator[bytes]:
    """The file's lines (with their ``\\n``), refusing one longer than :data:`MAX_LINE_BYTES`."""
    line_no = 0
    while True:
        line = binary.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_LINE_BYTES:
            raise TextError(
                f"line {line_no} is longer than {MAX_LINE_BYTES} bytes (no line break "
                "found): is this really a CSV or JSON Lines file? Fix the file or pass the right manifest_format"
            )
        yield line
