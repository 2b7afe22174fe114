"""Writing uploaded files whole or not at all. A full disk (ENOSPC, or the user's quota, EDQUOT) must
leave neither a truncated file nor a row pointing at one: the data goes to a temporary file in the same
folder, synced, then renamed to its name; on any error the temporary file is removed and the error
raised, for the page to say that the server has no room left (`is_disk_full`)."""
from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def write_whole(path: Path, data: bytes) -> None:
    """Create `path` with `data`, or raise (OSError) leaving nothing behind."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)  # some file systems only report a full disk here
        finally:
            os.close(fd)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
