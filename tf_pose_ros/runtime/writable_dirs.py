"""Whether a cache directory can really be written (compiled code, converted networks, weights)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def can_write_dir(directory: Path) -> bool:
    """True when files can be created in ``directory`` (made if missing).

    Tried for real: os.access says yes to root on a read-only filesystem.
    """
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
        return True
    except OSError:
        return False
