"""Writing files whole or not at all (the inbox's payloads in the filestore)."""

import contextlib
import ctypes
import ctypes.util
import os
import uuid


def _load_syncfs():
    """Linux's ``syncfs(2)`` (not in Python's ``os``), or ``None`` where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return syncfs


_SYNCFS = _load_syncfs()


def _is_whole(path, size):
    """A file already at ``path`` with ``size`` bytes is kept: the filestore names files
    by their SHA-1, so the same size means the same content; one of another size was
    left cut short by an earlier writer and is replaced."""
    try:
        return os.path.getsize(path) == size
    except OSError:
        return False


def _fsync_directory(directory):
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_whole(path, data):
    """Write ``data`` to ``path`` so that ``path`` holds all of it or does not exist.

    The bytes go to a temporary file beside ``path``, are flushed to disk
    (``fsync``: an event answered 200 keeps its payload through a power cut)
    and the file is then renamed to ``path``, which is atomic on POSIX; the
    directory is flushed too, so that the new name survives a power cut. Any
    ``OSError`` (``ENOSPC`` on a full disk, ``EIO``, ``EDQUOT``) is raised to
    the caller after the temporary file is removed: unlike Odoo's own
    ``ir.attachment._file_write``, which logs such an error and carries on, so
    that the attachment row is stored pointing at a missing or cut-short file.

    A file already at ``path`` with ``len(data)`` bytes is kept (see
    ``_is_whole``); one of another size, left cut short, is replaced. True
    when the file was written.
    """
    if _is_whole(path, len(data)):
        return False
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(directory)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


def write_all(files, on_written=None):
    """Write many files (``{path: data}``) each whole, with two disk flushes in all.

    ``write_whole`` for a batch: the same guarantee (when this returns, every
    file is on disk whole under its name; a file is never seen cut short under
    its name, even after a power cut), without one ``fsync`` per file, which
    costs a disk flush each (a Salesforce page of 2,000 records is 2,000 files):

    1. every file is written to a temporary file beside its path;
    2. one flush of the filesystem (``syncfs``) puts all their bytes on disk;
    3. each temporary file is renamed to its path (atomic on POSIX);
    4. a second ``syncfs`` puts the new names on disk.

    The filesystem is opened before the first write, so that ``syncfs``
    reports any write-back error of these files (Linux reports the errors
    since the descriptor was opened). Where ``syncfs`` is missing (not
    Linux), each file and each directory is ``fsync``-ed instead. Any
    ``OSError`` (a full disk while writing, ``EIO`` reported by a flush) is
    raised after every temporary file is removed; files already renamed are
    whole (flushed in step 2). Files already whole are kept (see
    ``_is_whole``) and cut-short ones replaced. ``on_written(path)`` is called
    for each file once it has its name (the filestore marks it for its garbage
    collector, which removes it if the transaction that wrote it rolls back).
    Returns the paths written.
    """
    pending = {path: data for path, data in files.items() if not _is_whole(path, len(data))}
    temporaries, filesystems = {}, {}
    try:
        for path, data in pending.items():
            directory = os.path.dirname(path)
            os.makedirs(directory, exist_ok=True)
            if _SYNCFS is not None:
                device = os.stat(directory).st_dev
                if device not in filesystems:
                    filesystems[device] = os.open(directory, os.O_RDONLY)
            temporary = f"{path}.{uuid.uuid4().hex}.tmp"
            temporaries[path] = temporary
            with open(temporary, "xb") as handle:
                handle.write(data)
                if _SYNCFS is None:
                    handle.flush()
                    os.fsync(handle.fileno())
        _syncfs_all(filesystems)
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
            if on_written:
                on_written(path)
        if _SYNCFS is None:
            for directory in {os.path.dirname(path) for path in temporaries}:
                _fsync_directory(directory)
        _syncfs_all(filesystems)
    except OSError:
        for temporary in temporaries.values():
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    finally:
        for descriptor in filesystems.values():
            os.close(descriptor)
    return list(temporaries)


def _syncfs_all(filesystems):
    """``syncfs`` each filesystem (``{device: open descriptor}``); ``OSError`` on a failure."""
    for descriptor in filesystems.values():
        if _SYNCFS(descriptor) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
