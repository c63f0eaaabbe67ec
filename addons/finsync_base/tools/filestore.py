"""Writing a file whole or not at all (the inbox's payloads in the filestore)."""

import contextlib
import os
import uuid


def write_whole(path, data):
    """Write ``data`` to ``path`` so that ``path`` holds all of it or does not exist.

    The bytes go to a temporary file beside ``path``, are flushed to disk
    (``fsync``: an event answered 200 keeps its payload through a power cut)
    and the file is then renamed to ``path``, which is atomic on POSIX. Any
    ``OSError`` (``ENOSPC`` on a full disk, ``EIO``, ``EDQUOT``) is raised to
    the caller after the temporary file is removed: unlike Odoo's own
    ``ir.attachment._file_write``, which logs such an error and carries on, so
    that the attachment row is stored pointing at a missing or cut-short file.

    A file already at ``path`` with ``len(data)`` bytes is kept (the filestore
    names files by their SHA-1, so the same size means the same content); one
    of another size, left cut short by an earlier writer, is replaced.
    """
    with contextlib.suppress(OSError):
        if os.path.getsize(path) == len(data):
            return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True
