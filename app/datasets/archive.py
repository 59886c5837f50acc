"""A zipped `datasets.save_to_disk` folder: unpacked with its names and sizes checked, read
with `datasets.load_from_disk` and written as JSON lines for the normal ingestion.

Refused before anything is written: absolute or `..` member names, links, more than
`MAX_MEMBERS` members, or more than the upload limit once unzipped (the sizes in the zip's
directory, which `zipfile` also holds each member to while extracting).
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 10_000
MARKERS = ("dataset_dict.json", "state.json")
PREFERRED_SPLIT = "train"


def _check_members(archive: zipfile.ZipFile, max_bytes: int) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"the zip holds {len(infos)} files, more than {MAX_MEMBERS}")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > max_bytes:
        raise ValueError(f"the zip unpacks to {unzipped} bytes, more than {max_bytes}")
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
            raise ValueError(f"unsafe name in the zip: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ValueError(f"links are not accepted in the zip: {info.filename!r}")


def _saved_root(folder: Path) -> Path:
    """The folder `save_to_disk` wrote: the zip's top level or the one folder inside it."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if any((candidate / marker).is_file() for marker in MARKERS):
            return candidate
    raise ValueError("the zip holds no datasets.save_to_disk folder (no state.json)")


def saved_dataset_to_jsonl(src: Path, dest: Path, max_bytes: int) -> None:
    """ValueError, with what is wrong, for an unsafe zip or one that is not a saved dataset.
    A DatasetDict gives its `train` split, or its only one."""
    from datasets import DatasetDict, load_from_disk

    folder = dest.parent / "unzipped"
    try:
        with zipfile.ZipFile(src) as archive:
            _check_members(archive, max_bytes)
            archive.extractall(folder)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a readable zip file ({exc})") from None
    try:
        loaded = load_from_disk(str(_saved_root(folder)))
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot load the saved dataset: {exc}") from None
    if isinstance(loaded, DatasetDict):
        splits = list(loaded)
        if PREFERRED_SPLIT not in loaded and len(splits) != 1:
            raise ValueError(f"the saved DatasetDict has splits {splits}: zip one split folder")
        loaded = loaded[PREFERRED_SPLIT if PREFERRED_SPLIT in loaded else splits[0]]
    loaded.to_json(str(dest), lines=True, force_ascii=False)
