"""Where the local CA lives, and how its files are written: atomically, private from birth.

Every file is written to a temporary name in its own directory (created 0600 by `mkstemp`, so a
key is never readable by others even for an instant), fsynced, and renamed over the old one,
then the directory is fsynced: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import sys
import tempfile
from collections.abc import Iterator

from ..errors import ConfigError

APP = "minicors"


def ca_home() -> str:
    """The CA's directory: `$MINICORS_HOME`, else the platform's user data directory
    (`$XDG_DATA_HOME/minicors`, by default `~/.local/share/minicors`; on macOS
    `~/Library/Application Support/minicors`).  `~` is `$HOME`."""
    explicit = os.environ.get("MINICORS_HOME")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Application Support", APP)
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(xdg):  # the XDG spec: a relative value is to be ignored
        xdg = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(xdg, APP)


def make_private_dir(directory: str) -> None:
    """Create `directory` (0700) if it is missing; refuse one that other users may write to,
    since whoever can replace the CA's files can make the user trust their certificate."""
    if not os.path.isdir(directory):
        os.makedirs(os.path.dirname(directory) or ".", exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.mkdir(directory, 0o700)
            os.chmod(directory, 0o700)  # the umask may have taken bits away; never added any
    info = os.stat(directory)
    if info.st_uid not in (os.geteuid(), 0) or info.st_mode & 0o022:
        raise ConfigError(
            f"the CA directory {directory} may be written by other users; give it to this "
            f"user with mode 700 (chmod 700 {directory}) or set MINICORS_HOME elsewhere"
        )


def check_private_file(path: str) -> None:
    """A key file must be readable by its owner only (as ssh insists for its keys)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"the key {path} may be read by other users (mode {mode:04o}); "
            f"make it private with chmod 600 {path}"
        )


def write_atomic(path: str, data: bytes, *, mode: int) -> None:
    """Replace `path` with `data` (file mode `mode`) so that no reader ever sees a part."""
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # mkstemp made it 0600; a certificate may be 0644
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def locked(directory: str) -> Iterator[None]:
    """An exclusive flock on the directory: two processes (`--workers N`, or `serve` beside
    `tls trust`) never make two CAs or write one certificate twice at once."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
