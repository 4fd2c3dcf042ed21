"""Object store in a local folder (the embedded default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from bulkgen_pipeline.storage.base import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_URL_EXPIRY_S,
    InvalidKey,
    ObjectNotFound,
    normalize_key,
)

_TMP_SUFFIX = ".bulkgen-partial"
_CHUNK = 1024 * 1024


class LocalObjectStore:
    """Objects are files under `root`. Writes go to a temporary file in the same folder that
    is then renamed over the target (os.replace), so a crash never leaves half an object."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        path = (self.root / normalize_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"key {key!r} escapes the store root")
        return path

    def _write_stream(self, key: str, source: BinaryIO) -> None:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        import io

        self._write_stream(key, io.BytesIO(data))

    def upload_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        with open(path, "rb") as source:
            self._write_stream(key, source)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()

    def open_read(self, key: str) -> BinaryIO:
        path = self.path_for(key)
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> list[str]:
        normalize_key(prefix, allow_empty=True)
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        keys: list[str] = []
        for dirpath, dirs, files in os.walk(base):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            key_start = "" if rel_dir == "." else f"{rel_dir}/"
            # Descend only where a key could start with `prefix`: every key under a folder starts
            # with "<folder>/", so that and the prefix must be one a prefix of the other. This
            # keeps string-prefix semantics ("r1" still lists "r10/...") without walking every
            # sibling of the prefix's parent folder.
            dirs[:] = [d for d in dirs if _may_hold_prefix(f"{key_start}{d}/", prefix)]
            for name in files:
                if name.endswith(_TMP_SUFFIX):
                    continue
                key = f"{key_start}{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def list_versions(self, prefix: str = "") -> dict[str, str]:
        versions: dict[str, str] = {}
        for key in self.list_keys(prefix):
            try:
                stat = os.stat(self.path_for(key))
            except FileNotFoundError:  # replaced or removed while we listed
                continue
            versions[key] = f"{stat.st_mtime_ns}:{stat.st_size}"
        return versions

    def local_path(self, key: str) -> Path | None:
        return self.path_for(key)

    def download_url(
        self, key: str, expires_in: int = DEFAULT_URL_EXPIRY_S, filename: str | None = None
    ) -> str:
        return self.path_for(key).as_uri()

    def location(self, key: str) -> str:
        return str(self.path_for(key))


def _may_hold_prefix(folder: str, prefix: str) -> bool:
    """Whether keys under `folder` (given with its trailing '/') can start with `prefix`."""
    return folder.startswith(prefix) or prefix.startswith(folder)
