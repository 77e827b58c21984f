"""`minicors tls path|trust|untrust`: where the CA is, and trusting it (or no longer).

`trust` adds the CA to the NSS databases browsers read on Linux (`~/.pki/nssdb` for Chromium,
made when missing, and each Firefox profile that exists) with `certutil`, and, run as root, to
the system store; `untrust` takes it out of each.  Every change is printed, and nothing is
trusted unless the user runs `trust`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import ConfigError
from .ca import LocalCA, existing_ident, nickname_of
from .files import ca_home, write_atomic

NSS_TRUST = "C,,"  # trusted to issue server certificates; nothing else (certutil -t)
Out = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class SystemStore:
    """A system trust store: certificates dropped in `directory`, then `refresh` run (and
    `refresh_removed` after one is taken out)."""

    directory: str
    refresh: tuple[str, ...]
    refresh_removed: tuple[str, ...]

    def file(self, ident: str) -> str:
        return os.path.join(self.directory, f"minicors-{ident}.crt")


SYSTEM_STORES = (
    # Debian: without --fresh, a removed certificate's links in /etc/ssl/certs would stay.
    SystemStore(
        "/usr/local/share/ca-certificates",
        ("update-ca-certificates",),
        ("update-ca-certificates", "--fresh"),
    ),
    SystemStore(  # Fedora, RHEL
        "/etc/pki/ca-trust/source/anchors",
        ("update-ca-trust", "extract"),
        ("update-ca-trust", "extract"),
    ),
)


SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")  # the stores' tools; a user's PATH may lack it


def _which(program: str) -> str | None:
    return shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def system_store() -> SystemStore | None:
    """The first system store whose tool this machine has."""
    for store in SYSTEM_STORES:
        if _which(store.refresh[0]) and os.path.isdir(os.path.dirname(store.directory)):
            return store
    return None


@dataclass(frozen=True, slots=True)
class NssDatabase:
    """One NSS database (`cert9.db` and its siblings in `directory`)."""

    directory: str
    label: str  # who reads it
    create: bool  # made when missing (the shared one); a browser's profile only when it exists

    @property
    def exists(self) -> bool:
        return os.path.exists(os.path.join(self.directory, "cert9.db"))


def nss_databases(home: str) -> list[NssDatabase]:
    """The NSS databases of `home`: the shared one, and the snap Chromium's and the Firefox
    profiles' (plain, snap, flatpak) that exist."""
    found = [NssDatabase(os.path.join(home, ".pki", "nssdb"), "Chromium, Chrome", create=True)]
    snap = os.path.join(home, "snap", "chromium", "current", ".pki", "nssdb")
    found.append(NssDatabase(snap, "snap Chromium", create=False))
    for firefox in (
        ".mozilla/firefox",
        "snap/firefox/common/.mozilla/firefox",
        ".var/app/org.mozilla.firefox/.mozilla/firefox",
    ):
        for profile in sorted(glob.glob(os.path.join(home, firefox, "*", "cert9.db"))):
            directory = os.path.dirname(profile)
            label = f"Firefox profile {os.path.basename(directory)}"
            found.append(NssDatabase(directory, label, create=False))
    return [db for db in found if db.create or db.exists]


class Certutil:
    """NSS's `certutil` on one database at a time (`sql:` is the format browsers use)."""

    def __init__(self) -> None:
        program = shutil.which("certutil")
        if program is None:
            raise ConfigError(
                "certutil is not installed: install Debian's libnss3-tools (sudo apt-get "
                "install libnss3-tools; Fedora: nss-tools; macOS: brew install nss) and run "
                "this again"
            )
        self.program = program

    def run(self, db: NssDatabase, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a fixed program, arguments not from a shell
            [self.program, *args, "-d", f"sql:{db.directory}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def must(self, db: NssDatabase, *args: str) -> None:
        done = self.run(db, *args)
        if done.returncode != 0:
            reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise ConfigError(
                f"certutil {args[0]} failed on {db.directory}: "
                f"{reason[-1] if reason else f'exit status {done.returncode}'}"
            )

    def certificates(self, db: NssDatabase, nickname: str) -> list[bytes]:
        """The DER of each certificate stored under `nickname` (none: empty)."""
        done = self.run(db, "-L", "-n", nickname, "-a")
        if done.returncode != 0:
            return []
        try:
            found = x509.load_pem_x509_certificates(done.stdout.encode())
        except ValueError:
            return []
        return [cert.public_bytes(Encoding.DER) for cert in found]


def command(action: str, *, system: bool = True, out: Out = print) -> int:
    """Run `minicors tls ACTION`; the exit status.  `system=False` leaves the system store
    alone even as root."""
    if action == "path":
        ca = LocalCA.open()
        if ca.created:
            sys.stderr.write(
                f"minicors: made a new local CA in {ca.directory}; it is trusted nowhere "
                "until you run `minicors tls trust`\n"
            )
        out(ca.cert_path)
        return 0
    certutil = Certutil()  # before anything changes: a missing tool changes nothing
    store = system_store()
    change = system and os.geteuid() == 0
    try:
        if action == "trust":
            trust(LocalCA.open(), certutil, store, change=change, out=out)
        else:
            untrust(certutil, store, change=change, out=out)
    except (OSError, subprocess.SubprocessError) as exc:
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(
            f"{action} stopped: {reason}{where}; the lines above say what it changed"
        ) from None
    return 0


def trust(
    ca: LocalCA, certutil: Certutil, store: SystemStore | None, *, change: bool, out: Out
) -> None:
    """Add `ca` to the user's NSS databases, and to the system `store` when `change` (else
    say how to)."""
    if ca.created:
        out(f"minicors: made a new local CA in {ca.directory}")
    out(f'minicors: the CA is {ca.cert_path} ("{ca.nickname}")')
    ours = ca.cert.public_bytes(Encoding.DER)
    changed = False
    for db in nss_databases(os.path.expanduser("~")):
        if not db.exists:
            os.makedirs(db.directory, mode=0o700, exist_ok=True)
            certutil.must(db, "-N", "--empty-password")
            out(f"minicors: created the NSS database {db.directory}")
        held = certutil.certificates(db, ca.nickname)
        if held == [ours]:
            out(f"minicors: {db.label} already trusts it ({db.directory}): unchanged")
            continue
        for _ in held:  # a different certificate under our name: replaced by ours
            certutil.must(db, "-D", "-n", ca.nickname)
        certutil.must(db, "-A", "-n", ca.nickname, "-t", NSS_TRUST, "-i", ca.cert_path)
        out(f"minicors: added it to the NSS database {db.directory} ({db.label})")
        changed = True
    if store is None:
        out(f"minicors: the system store is unchanged: {NO_STORE}")
    elif not change:
        out(
            f"minicors: the system store is unchanged ({_why_not()}); to add it there too: "
            f"sudo cp {ca.cert_path} {store.file(ca.ident)} && sudo {' '.join(store.refresh)}"
        )
    else:
        target = store.file(ca.ident)
        with open(ca.cert_path, "rb") as file:
            pem = file.read()
        if _read_or_none(target) == pem:
            out(f"minicors: the system store already holds {target}: unchanged")
        else:
            write_atomic(target, pem, mode=0o644)
            _refresh(store.refresh)
            out(f"minicors: copied it to {target} and ran {' '.join(store.refresh)}")
    if changed:
        out("minicors: restart the browsers that are open, so they read the change")


NO_STORE = "no system store tool (update-ca-certificates, update-ca-trust) was found"


def _why_not() -> str:
    return "not root" if os.geteuid() != 0 else "--no-system-store"


def untrust(certutil: Certutil, store: SystemStore | None, *, change: bool, out: Out) -> None:
    """Remove the CA from the user's NSS databases, and from the system `store` when
    `change` (else say how to); its files stay."""
    home = ca_home()
    ident = existing_ident(home)
    if ident is None:
        out(f"minicors: there is no CA in {home}: nothing to remove")
        return
    nickname = nickname_of(ident)
    for db in nss_databases(os.path.expanduser("~")):
        held = certutil.certificates(db, nickname) if db.exists else []
        if not held:
            out(f"minicors: the NSS database {db.directory} does not hold it: unchanged")
            continue
        for _ in held:
            certutil.must(db, "-D", "-n", nickname)
        out(f'minicors: removed "{nickname}" from the NSS database {db.directory} ({db.label})')
    target = store.file(ident) if store is not None else ""
    if store is not None and os.path.exists(target):
        if change:
            os.unlink(target)
            _refresh(store.refresh_removed)
            out(f"minicors: removed {target} and ran {' '.join(store.refresh_removed)}")
        else:
            out(
                f"minicors: the system store still holds {target} ({_why_not()}); remove it "
                f"with: sudo rm {target} && sudo {' '.join(store.refresh_removed)}"
            )
    out(f"minicors: the CA's files stay in {home}; delete that directory to start over")


def _refresh(argv: tuple[str, ...]) -> None:
    program = _which(argv[0]) or argv[0]
    done = subprocess.run(  # noqa: S603 - a fixed program from a fixed table
        [program, *argv[1:]], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ConfigError(
            f"{' '.join(argv)} failed: {reason[-1] if reason else f'exit status {done.returncode}'}"
        )


def _read_or_none(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None
