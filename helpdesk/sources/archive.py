"""The text files of an export: a zip file (Notion, Confluence), a zip inside it (Notion splits
a large export into ``Export-…-Part-1.zip`` files), or the folder it was unzipped into.

Only the pages are ever read (``.md``, ``.html``, ``.json`` as asked); attachments and images
stay compressed and unread. The loaders' limits hold: a page over ``MAX_DOCUMENT_BYTES`` is
skipped, and the pages' declared sizes together may not pass ``MAX_UNZIPPED_BYTES`` (a zip
bomb), checked from the zip directory before anything is inflated; zipfile stops at the
declared size, so a lying directory cannot go beyond it. Member names are only keys here,
never written to disk, so a ``../`` name cannot escape anywhere.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path, PurePosixPath

from ..documents.loaders import MAX_DOCUMENT_BYTES, MAX_UNZIPPED_BYTES
from .base import SourceUnreachable

MAX_PAGES = 50_000  # pages in one export


class ExportArchive:
    """Read the ``suffixes`` files of the export at ``path``: a zip, a folder, or one file."""

    def __init__(self, name: str, path: Path, suffixes: tuple[str, ...]) -> None:
        self.name = name
        self.path = path
        self.suffixes = suffixes
        self.skipped: list[tuple[str, str]] = []

    def files(self) -> Iterator[tuple[str, str]]:
        """(POSIX path inside the export, text) of every page file, in path order."""
        if not self.path.exists():
            raise SourceUnreachable(f"{self.name}: {self.path} does not exist")
        if self.path.is_dir():
            yield from self._folder()
        elif self.path.name.lower().endswith(self.suffixes):
            yield from self._file()
        else:
            yield from self._zip()

    def _wanted(self, name: str, size: int) -> bool:
        if not name.lower().endswith(self.suffixes):
            return False
        parts = PurePosixPath(name).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            return False
        if size > MAX_DOCUMENT_BYTES:
            self.skipped.append((name, f"larger than {MAX_DOCUMENT_BYTES:,} bytes"))
            return False
        return True

    def _file(self) -> Iterator[tuple[str, str]]:
        size = self.path.stat().st_size
        if size > MAX_UNZIPPED_BYTES:
            raise SourceUnreachable(
                f"{self.name}: {self.path} is {size:,} bytes, more than {MAX_UNZIPPED_BYTES:,}; "
                "give a folder of smaller files"
            )
        yield self.path.name, self.path.read_bytes().decode("utf-8", errors="replace")

    def _folder(self) -> Iterator[tuple[str, str]]:
        found = []
        for file in sorted(self.path.rglob("*")):
            if file.is_file() and not file.is_symlink():
                relative = file.relative_to(self.path).as_posix()
                if self._wanted(relative, file.stat().st_size):
                    found.append((relative, file))
        self._check(sum(file.stat().st_size for _, file in found), len(found))
        for relative, file in found:
            yield relative, file.read_bytes().decode("utf-8", errors="replace")

    def _zip(self) -> Iterator[tuple[str, str]]:
        with ExitStack() as stack:
            try:
                outer = stack.enter_context(zipfile.ZipFile(self.path))
                archives = [outer]
                infos = outer.infolist()
                if not any(i.filename.lower().endswith(self.suffixes) for i in infos):
                    # Notion: the export is a zip of zips, one per part.
                    for info in infos:
                        if info.filename.lower().endswith(".zip"):
                            inner = stack.enter_context(outer.open(info))
                            archives.append(stack.enter_context(zipfile.ZipFile(inner)))
                members = [
                    (archive, info)
                    for archive in archives
                    for info in archive.infolist()
                    if not info.is_dir() and self._wanted(info.filename, info.file_size)
                ]
                self._check(sum(info.file_size for _, info in members), len(members))
                for archive, info in sorted(members, key=lambda m: m[1].filename):
                    data = archive.read(info)
                    yield info.filename, data.decode("utf-8", errors="replace")
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                raise SourceUnreachable(
                    f"{self.name}: {self.path} is not a readable zip ({exc})"
                ) from None

    def _check(self, declared: int, count: int) -> None:
        if declared > MAX_UNZIPPED_BYTES:
            raise SourceUnreachable(
                f"{self.name}: the export's pages unzip to {declared:,} bytes, more than "
                f"{MAX_UNZIPPED_BYTES:,} (a zip bomb?)"
            )
        if count > MAX_PAGES:
            raise SourceUnreachable(f"{self.name}: {count:,} pages, more than {MAX_PAGES:,}")
