"""Converted networks cached beside their weights, keyed by what they were made from.

An entry is a set of files plus a manifest (``<key>.json``) naming the weights checksum, the
resolution, the converter's version and each file's checksum. The manifest is written last, by
rename, so a reader sees either a complete entry or none; an entry whose manifest or files do not
match is rebuilt. Entries go to ``<weights dir>/converted/`` when that is writable (weights
installed read-only use the user cache instead).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Type, TypeVar

from tf_pose_ros.models.store import sha256_of, user_cache_dir
from tf_pose_ros.runtime.writable_dirs import can_write_dir

MANIFEST_VERSION = 1
_LOG = logging.getLogger(__name__)
T = TypeVar('T')


def _weights_digest(weights: Path) -> str:
    # Re-hashing 8 MB per load costs ~20 ms; keyed on size and mtime it is computed once a run.
    stat = weights.stat()
    return _cached_digest(str(weights.resolve()), stat.st_size, stat.st_mtime_ns)


_DIGESTS: Dict[tuple, str] = {}


def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    key = (path, size, mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_of(Path(path))
    return _DIGESTS[key]


def cache_dir(weights: Path) -> Path:
    """Where converted forms of ``weights`` are kept: beside them, else the user cache, else a temporary one."""
    for directory in (weights.parent / 'converted', user_cache_dir() / 'converted' / _weights_digest(weights)[:16]):
        if can_write_dir(directory):
            return directory
    # Nothing to keep them in: convert on every start (slower) rather than not start at all.
    directory = Path(tempfile.mkdtemp(prefix='tf_pose_ros_converted_'))
    _LOG.warning('neither %s nor the user cache %s can be written: converted networks go to %s for this run only '
                 '(each start converts again)', weights.parent, user_cache_dir(), directory)
    return directory


class ConversionCache:
    """Cached conversions of one weight file for one engine."""

    def __init__(self, weights: Path, engine: str, engine_version: str, directory: Optional[Path] = None):
        self.weights = Path(weights)
        self.engine = engine
        self.engine_version = engine_version
        self.directory = Path(directory) if directory is not None else cache_dir(self.weights)

    def key(self, variant: str) -> str:
        """File-name stem of the entry for ``variant`` (e.g. '432x368')."""
        digest = _weights_digest(self.weights)[:16]
        return '%s-%s-%s' % (self.engine, variant, digest)

    def _manifest_path(self, variant: str) -> Path:
        return self.directory / (self.key(variant) + '.json')

    def _expected(self, variant: str) -> dict:
        return {'version': MANIFEST_VERSION, 'engine': self.engine, 'engine_version': self.engine_version,
                'variant': variant, 'weights_sha256': _weights_digest(self.weights)}

    def lookup(self, variant: str) -> Optional[Dict[str, Path]]:
        """The entry's files (suffix -> path) when it is complete and current, else None."""
        try:
            manifest = json.loads(self._manifest_path(variant).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in self._expected(variant).items()):
            return None
        files = {}
        for suffix, digest in (manifest.get('files') or {}).items():
            path = self.directory / (self.key(variant) + suffix)
            try:
                if not path.is_file() or sha256_of(path) != digest:
                    return None
            except OSError:
                return None
            files[suffix] = path
        return files or None

    def store(self, variant: str, build: Callable[[Path], List[str]]) -> Dict[str, Path]:
        """Build an entry: ``build(stem)`` writes ``stem + suffix`` files and returns the suffixes.

        Files are built under a temporary name in the cache directory and renamed into place, the
        manifest last, so concurrent readers and interrupted builds never see half an entry.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        key = self.key(variant)
        # First use of a model, size or engine version: seconds to minutes, so say so while it runs.
        _LOG.info('converting %s for %s at %s (first use; kept in %s)...', self.weights, self.engine, variant,
                  self.directory)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix='.%s-' % key, dir=self.directory) as tmp:
            stem = Path(tmp) / key
            suffixes = build(stem)
            digests = {s: sha256_of(Path(str(stem) + s)) for s in suffixes}
            for suffix in suffixes:
                os.replace(str(stem) + suffix, self.directory / (key + suffix))
            manifest = dict(self._expected(variant), files=digests)
            staging = Path(tmp) / 'manifest.json'
            staging.write_text(json.dumps(manifest, indent=1))
            os.replace(staging, self._manifest_path(variant))
        _LOG.info('converted %s for %s at %s in %.1f s', self.weights.name, self.engine, variant,
                  time.perf_counter() - started)
        self._remove_stale(variant)
        return {s: self.directory / (key + s) for s in suffixes}

    def _remove_stale(self, variant: str) -> None:
        """Drop entries of the same engine and variant made from other weights (a replaced file)."""
        prefix = '%s-%s-' % (self.engine, variant)
        current = self.key(variant)
        for path in self.directory.glob(prefix + '*'):
            if not path.name.startswith(current):
                try:
                    path.unlink()
                except OSError:
                    pass

    def get_or_build(self, variant: str, build: Callable[[Path], List[str]]) -> Dict[str, Path]:
        """The current entry, built first when missing, stale or corrupt."""
        return self.lookup(variant) or self.store(variant, build)

    def load(self, variant: str, build: Callable[[Path], List[str]], open_entry: Callable[[Dict[str, Path]], T],
             unreadable: Tuple[Type[Exception], ...]) -> T:
        """``open_entry(files)`` on the current entry; one the engine cannot read is built again once.

        Exceptions of the ``unreadable`` types from opening a cached entry (intact by its checksums,
        yet refused: written by a converter with other defaults, say) trigger the rebuild; the same
        error from the rebuilt entry is raised.
        """
        try:
            return open_entry(self.get_or_build(variant, build))
        except unreadable:
            return open_entry(self.store(variant, build))

