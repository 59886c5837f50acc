"""Records from data files, one streaming reader per format, with limits and located errors.

Every reader yields `(line, item)` where `item` is the record (a dict of JSON values) or a
`DataError` for a record that could not be read; reading goes on after such an error, so a
validator can list every bad line. Errors that end reading (a file that cannot be opened, a
broken JSON array, a limit passed) are raised. `line` is the 1-based line where the record
starts (JSONL, JSON array, CSV) or the 1-based row number (Parquet).

Values keep their type and text: CSV cells are strings exactly as written (a cell `true`
stays the text `true`; an empty cell is a missing field) and only the list field `choices`
is read as JSON text. The limits bound what a small file may expand to (decoded bytes,
rows, JSON nesting), so a compressed Parquet "bomb" is refused before it fills memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mind.errors import MindError

BOM = "\ufeff"
LIST_FIELDS = frozenset({"choices"})
FORMATS = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


class DataError(MindError, ValueError):
    """A bad record, located by file, line (1-based; 0 for the whole file) and field."""

    def __init__(self, path: str | Path, line: int, field_name: str | None, message: str):
        where = f"{path}:{line}" + (f": field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.field, self.message = str(path), line, field_name, message


@dataclass(frozen=True)
class Limits:
    """What one file may expand to once decoded; None means no limit."""

    max_decoded_bytes: int | None = None
    max_rows: int | None = None
    max_depth: int = 32


Item = dict[str, Any] | DataError
Reader = Callable[[Path, Limits], Iterator[tuple[int, Item]]]


def file_format(path: str | Path) -> str | None:
    """`jsonl`, `json`, `csv` or `parquet` from the file name; None for anything else."""
    return FORMATS.get(Path(path).suffix.lower())


def read_items(path: str | Path, limits: Limits | None = None) -> Iterator[tuple[int, Item]]:
    """Every record of a file (errors as items); a name without a known suffix reads as JSONL."""
    path = Path(path)
    reader = READERS[file_format(path) or "jsonl"]
    yield from _counted(path, reader(path, limits or Limits()), limits or Limits())


def iter_records(path: str | Path, limits: Limits | None = None) -> Iterator[tuple[int, dict]]:
    """Every record of a file; the first bad one raises its DataError."""
    for line, item in read_items(path, limits):
        if isinstance(item, DataError):
            raise item
        yield line, item


def _counted(
    path: Path, items: Iterator[tuple[int, Item]], limits: Limits
) -> Iterator[tuple[int, Item]]:
    """Refuse a file with more records than `max_rows`, or records nested too deeply."""
    for rows, (line, item) in enumerate(items, start=1):
        if limits.max_rows is not None and rows > limits.max_rows:
            raise DataError(path, line, None, f"more than {limits.max_rows} records")
        if isinstance(item, dict) and _depth(item) > limits.max_depth:
            item = DataError(path, line, None, f"nested deeper than {limits.max_depth} levels")
        yield line, item


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


class _Budget:
    """Decoded bytes read so far; DataError once past the limit."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limit, self.used = path, limits.max_decoded_bytes, 0

    def spend(self, size: int, line: int) -> None:
        self.used += size
        if self.limit is not None and self.used > self.limit:
            raise DataError(
                self.path, line, None, f"expands to more than {self.limit} bytes once decoded"
            )


def _open(path: Path, mode: str, **kwargs: Any) -> Any:
    try:
        return path.open(mode, **kwargs)
    except OSError as exc:
        raise DataError(path, 0, None, f"cannot open: {exc.strerror}") from exc


def _decode(raw: bytes, path: Path, line: int) -> str | DataError:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DataError(
            path, line, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
        )


def _object(text: str, path: Path, line: int) -> Item:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return DataError(path, line, None, f"invalid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return DataError(path, line, None, "invalid JSON (nested too deeply)")
    if not isinstance(obj, dict):
        return DataError(path, line, None, f"expected a JSON object, got {_json_type(obj)}")
    return obj


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")


def read_jsonl(path: Path, limits: Limits) -> Iterator[tuple[int, Item]]:
    """One JSON object per line; a UTF-8 BOM at the start is allowed, blank lines skipped."""
    budget = _Budget(path, limits)
    with _open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            budget.spend(len(raw), number)
            text = _decode(raw, path, number)
            if isinstance(text, DataError):
                yield number, text
                continue
            if number == 1:
                text = text.removeprefix(BOM)
            if text.strip():
                yield number, _object(text, path, number)


def read_json(path: Path, limits: Limits) -> Iterator[tuple[int, Item]]:
    """A JSON array of objects, or JSON lines in a `.json` file (read as JSONL)."""
    with _open(path, "rb") as handle:
        raw = handle.read(limits.max_decoded_bytes + 1 if limits.max_decoded_bytes else -1)
    _Budget(path, limits).spend(len(raw), 1)
    try:
        text = raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(path, line, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    del raw
    if not text.lstrip().startswith("["):
        yield from read_jsonl(path, limits)
        return
    yield from _array_items(text, path)


def _array_items(text: str, path: Path) -> Iterator[tuple[int, Item]]:
    """Each element of a top-level array with the line it starts on."""
    decoder, pos, line = json.JSONDecoder(), text.index("[") + 1, 1
    counted = 0
    while True:
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == "]":
            if text[pos + 1 :].strip():
                raise DataError(path, _line_at(text, pos + 1), None, "text after the JSON array")
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(path, exc.lineno, None, f"invalid JSON array ({exc.msg})") from None
        except RecursionError:
            raise DataError(path, line, None, "invalid JSON (nested too deeply)") from None
        yield (
            line,
            obj
            if isinstance(obj, dict)
            else DataError(path, line, None, f"expected a JSON object, got {_json_type(obj)}"),
        )
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "]":
            raise DataError(path, _line_at(text, pos), None, "invalid JSON array (expected , or ])")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def read_csv(path: Path, limits: Limits) -> Iterator[tuple[int, Item]]:
    """RFC 4180 CSV with a header row; quoted cells may hold newlines, any size of cell."""
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_decoded_bytes or 2**31 - 1))
    with _open(path, "rb") as handle:
        reader = csv.reader(_utf8_lines(handle, path, _Budget(path, limits)), strict=True)
        header = _csv_row(reader, path)
        if header is None:
            return
        while True:
            start = reader.line_num + 1
            row = _csv_row(reader, path)
            if row is None:
                return
            if len(row) != len(header):
                message = f"{len(row)} fields, but the header has {len(header)}"
                yield start, DataError(path, start, None, message)
                continue
            yield start, _csv_record(dict(zip(header, row, strict=True)), path, start)


def _utf8_lines(handle: Any, path: Path, budget: _Budget) -> Iterator[str]:
    """Decoded lines with their endings (what csv.reader wants); DataError on the line
    that is not UTF-8. A BOM at the start is dropped."""
    for number, raw in enumerate(handle, start=1):
        budget.spend(len(raw), number)
        text = _decode(raw, path, number)
        if isinstance(text, DataError):
            raise text
        yield text.removeprefix(BOM) if number == 1 else text


def _csv_row(reader: Any, path: Path) -> list[str] | None:
    """The next non-empty row, or None at the end; decoding and syntax errors located."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise DataError(path, reader.line_num, None, f"invalid CSV ({exc})") from None
        if any(cell.strip() for cell in row):
            return row


def _csv_record(cells: dict[str, str], path: Path, line: int) -> Item:
    record: dict[str, Any] = {}
    for name, cell in cells.items():
        if cell == "":
            continue
        if name in LIST_FIELDS:
            try:
                record[name] = json.loads(cell)
            except (json.JSONDecodeError, RecursionError):
                return DataError(path, line, name, "must be a JSON list of strings")
        else:
            record[name] = cell
    return record


def read_parquet(path: Path, limits: Limits) -> Iterator[tuple[int, Item]]:
    """Row by row after two checks that decode nothing: the row count and stored sizes in
    the footer, then the expanded size of every column computed on the still
    dictionary-encoded batches, so a file whose few values repeat over many rows (a
    "bomb") is refused before any of it is turned into Python text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        _check_footer(path, meta, limits)
        # Every text leaf, nested ones (chat messages) and large_string included, is read
        # still dictionary-encoded, so the scan below counts its expansion without doing it.
        leaves = [meta.schema.column(i) for i in range(meta.num_columns)]
        texts = [leaf.path for leaf in leaves if leaf.physical_type == "BYTE_ARRAY"]
        parquet = pq.ParquetFile(path, read_dictionary=texts)
        decoded = sum(_decoded_bytes(b) for b in _batches(parquet, PARQUET_SCAN_ROWS))
        if limits.max_decoded_bytes is not None and decoded > limits.max_decoded_bytes:
            raise DataError(
                path,
                0,
                None,
                f"expands to {decoded} bytes once decoded, more than {limits.max_decoded_bytes}",
            )
        number = 0
        for batch in _batches(parquet, PARQUET_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, {k: v for k, v in row.items() if v is not None}
    except (pa.ArrowException, OSError):
        raise DataError(path, 0, None, "not a readable Parquet file") from None


PARQUET_SCAN_ROWS = 1 << 16
PARQUET_ROWS = 1024


def _batches(parquet: Any, rows: int) -> Iterator[Any]:
    """Record batches of at most `rows` rows, one row group at a time: each row group has
    its own dictionaries, and pyarrow cannot join those of nested columns in one batch."""
    for group in range(parquet.num_row_groups):
        yield from parquet.iter_batches(batch_size=rows, row_groups=[group])


def _check_footer(path: Path, meta: Any, limits: Limits) -> None:
    if limits.max_rows is not None and meta.num_rows > limits.max_rows:
        raise DataError(path, 0, None, f"{meta.num_rows} rows, more than {limits.max_rows}")
    stored = sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )
    if limits.max_decoded_bytes is not None and stored > limits.max_decoded_bytes:
        raise DataError(
            path, 0, None, f"expands to {stored} bytes, more than {limits.max_decoded_bytes}"
        )


def _decoded_bytes(batch: Any) -> int:
    """Bytes a batch takes once every value is expanded (text and binary exactly)."""
    return sum(_expanded_bytes(column) for column in batch.columns)


def _expanded_bytes(array: Any) -> int:
    """Bytes of `array` with every dictionary expanded, counted on the encoded form: a
    dictionary text value counts once per index that points at it. Lists and structs are
    walked down to their leaves, so a bomb inside chat messages is counted too."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        if _is_text(kind.value_type):
            lengths = pc.binary_length(array.dictionary)
            return pc.sum(pc.take(lengths, array.indices)).as_py() or 0
        return array.indices.nbytes + array.dictionary.nbytes
    if _is_text(kind):
        return pc.sum(pc.binary_length(array)).as_py() or 0
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return array.offsets.nbytes + _expanded_bytes(array.flatten())
    if pa.types.is_fixed_size_list(kind):
        return _expanded_bytes(array.flatten())
    if pa.types.is_struct(kind):
        return sum(_expanded_bytes(child) for child in array.flatten())
    return array.nbytes


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_large_binary(kind)
    )


READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "json": read_json,
    "csv": read_csv,
    "parquet": read_parquet,
}
