"""Opening a file under ROOT: the second fence, after the URL was judged (`paths.py`).

One `open` + `fstat`, then the kernel says where the opened file really is (one `readlink` of
/proc/self/fd, so a symlink race cannot swap it; `realpath` where /proc is unavailable), and it
must lie under the real ROOT and, unless dotfiles are served, not inside a dot-directory.  The
very same file (device, inode, ctime) is checked once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .paths import Refusal, has_hidden_part, is_inside, root_prefix

_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us
MEMO_MAX = 4096  # entries per cache before it is simply cleared


@dataclass(frozen=True, slots=True, kw_only=True)
class Opened:
    """An open file under ROOT: its descriptor (the caller owns it), its stat, its path."""

    fd: int
    st: os.stat_result
    path: str


def _proc_fd_works(root: str) -> bool:
    # /proc/self/fd/N names the file an fd refers to (Linux).  Trust it only if it reports the
    # real ROOT for ROOT itself; otherwise fall back to os.path.realpath per request.
    try:
        fd = os.open(root, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == root
    except OSError:
        return False
    finally:
        os.close(fd)


class SafeOpener:
    """Opens paths under `root` (a real, absolute path) and refuses what lies outside it."""

    def __init__(self, root: str, *, dotfiles: bool, kernel_paths: bool | None = None) -> None:
        """`kernel_paths`: locate opened files through /proc/self/fd (None: when it works)."""
        self.root = root
        self.prefix = root_prefix(root)
        self.dotfiles = dotfiles
        self.uses_kernel_paths = _proc_fd_works(root) if kernel_paths is None else kernel_paths
        # Files whose real location was checked, by (dev, inode, ctime): a file replaced or
        # re-linked gets a new ctime, so only the very same file skips the readlink() check.
        self._inside: set[tuple[int, int, int]] = set()

    def open(self, path: str) -> Opened | Refusal:
        """Open `path` (one open + one fstat) and make sure the kernel's answer lies in ROOT."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return Refusal(reason=f"{path!r} not found", missing=True)
        except PermissionError:
            return Refusal(reason=f"{path!r}: permission denied", status=403)
        except (OSError, ValueError) as exc:  # ELOOP, ENAMETOOLONG, ...
            return Refusal(reason=f"{path!r}: {exc}")
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_ctime_ns)
            if key in self._inside:
                return Opened(fd=fd, st=st, path=path)
            real = (
                os.readlink(f"/proc/self/fd/{fd}")
                if self.uses_kernel_paths
                else os.path.realpath(path)
            )
            if not is_inside(real, self.root, self.prefix):
                os.close(fd)
                return Refusal(reason=f"{path!r} resolves to {real!r}, outside ROOT")
            if not self.dotfiles and has_hidden_part(real, self.prefix):
                os.close(fd)
                return Refusal(reason=f"{path!r} resolves to hidden {real!r} (dotfiles are off)")
        except BaseException:
            os.close(fd)
            raise
        if len(self._inside) >= MEMO_MAX:
            self._inside.clear()
        self._inside.add(key)
        return Opened(fd=fd, st=st, path=path)
