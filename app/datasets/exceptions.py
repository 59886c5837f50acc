from __future__ import annotations

from app.errors import Conflict, Invalid, NotFound, TooLarge


class DatasetNotFound(NotFound):
    def __init__(self, dataset_id: str, field: str | None = None):
        super().__init__(f"no dataset {dataset_id!r}", field)


class UploadTooLarge(TooLarge):
    def __init__(self, limit: int):
        super().__init__(f"the upload exceeds the limit of {limit} bytes", "file")


class UnsupportedFormat(Invalid):
    def __init__(self, filename: str):
        super().__init__(
            f"{filename!r}: unsupported format; upload .jsonl, .json, .csv, .parquet or a .zip "
            "of a datasets.save_to_disk folder",
            "file",
        )


class InvalidName(Invalid):
    def __init__(self, field: str, limit: int):
        what = "the file name" if field == "file" else "the dataset name"
        super().__init__(f"{what} must be printable text of at most {limit} characters", field)


class InvalidDataset(Invalid):
    """The file did not validate; `details.report` counts every bad record and lists the
    first ones with line and field."""

    def __init__(self, report: dict):
        first = report["errors"][0]
        where = f"line {first['line']}" + (f", field {first['field']!r}" if first["field"] else "")
        count = report.get("error_count", len(report["errors"]))
        more = count - len(report["errors"])
        super().__init__(
            f"{count} error(s), first at {where}: {first['message']}"
            + (f" (the first {len(report['errors'])} are listed, and {more} more)" if more else ""),
            first["field"] or "file",
            {"report": report},
        )


class InvalidMapping(Invalid):
    """A column mapping that cannot be read; `field` is `mapping` or `mapping.<key>`."""


class DatasetInUse(Conflict):
    def __init__(self, dataset_id: str, runs: int):
        super().__init__(f"dataset {dataset_id!r} is used by {runs} run(s); delete them first")
