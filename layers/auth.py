"""Who is acting, and what they may change: users, roles, sign-in, the trusted-header mode.

Roles: ``viewer`` (browse, analyse, export) < ``editor`` (also import, edit zones and
layers, save runs and scenarios) < ``admin`` (also users and projects).

Modes (environment, both off by default — the single-user local app stays open):

* ``INNOMAP_USERS=FILE`` — a local users file (JSON) with argon2id hashes
  (argon2-cffi); the app shows a sign-in form; an account is locked for
  ``LOCK_MINUTES`` after ``MAX_FAILURES`` failed attempts; idle sessions end after
  ``INNOMAP_IDLE_MINUTES`` (default 30).
* ``INNOMAP_TRUSTED_HEADER=X-Remote-User`` with ``INNOMAP_ROLE_MAP=FILE`` — a
  reverse proxy (intranet SSO) says who the user is; the app refuses to serve
  unless it listens on loopback only.

Roles are enforced where data is changed: the project store calls :func:`require`
with the acting user (:func:`current_actor`, set per request by the app or passed
explicitly). A refused change raises :class:`PermissionDeniedError` and is audited.
"""

from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from layers.errors import InnoMapError

__all__ = [
    "ROLES",
    "Actor",
    "AuthError",
    "PermissionDeniedError",
    "add_user",
    "auth_mode",
    "can",
    "check_bind",
    "check_serve",
    "cli_actor",
    "current_actor",
    "enforcing",
    "header_actor",
    "is_loopback",
    "list_users",
    "load_role_map",
    "require",
    "set_actor",
    "sign_in_cli",
    "verify_password",
]

ROLES = ("viewer", "editor", "admin")
MAX_FAILURES = 5
LOCK_MINUTES = 10.0
IDLE_MINUTES_DEFAULT = 30.0
_NAME_RE = re.compile(r"^[\w.@-]{1,64}$")


class AuthError(InnoMapError):
    """Sign-in failed (the message never says whether the user exists)."""


class PermissionDeniedError(InnoMapError):
    """The acting user's role does not allow this change."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def auth_mode() -> str:
    """``users``, ``header`` or ``open`` (from the environment)."""
    if os.environ.get("INNOMAP_USERS"):
        return "users"
    if os.environ.get("INNOMAP_TRUSTED_HEADER"):
        return "header"
    return "open"


def enforcing() -> bool:
    return auth_mode() != "open"


def idle_minutes() -> float:
    try:
        return float(os.environ.get("INNOMAP_IDLE_MINUTES", IDLE_MINUTES_DEFAULT))
    except ValueError:
        return IDLE_MINUTES_DEFAULT


_ACTOR: ContextVar[Actor | None] = ContextVar("innomap_actor", default=None)


def set_actor(actor: Actor | None) -> None:
    """The user acting in this thread/context (the app sets it at the start of every run)."""
    _ACTOR.set(actor)


def current_actor() -> Actor | None:
    """The acting user: the one set for this context, else — in open mode — the local user as admin."""
    actor = _ACTOR.get()
    if actor is not None:
        return actor
    if not enforcing():
        import pwd

        try:  # the real uid's name, not USER/LOGNAME (anyone can set those)
            local = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:  # a uid without a passwd entry (containers)
            local = f"uid{os.getuid()}"
        return Actor(os.environ.get("INNOMAP_USER") or local, "admin")
    return None


def can(role: str) -> bool:
    """Whether the acting user has at least ``role`` (to show or hide widgets that change data)."""
    who = current_actor()
    return bool(who and who.can(role))


def require(role: str, action: str, *, actor: Actor | None = None) -> Actor:
    """The acting user if their role is at least ``role``, else :class:`PermissionDeniedError`."""
    who = actor or current_actor()
    if who is None or not who.can(role):
        name = who.name if who else "anonymous"
        have = who.role if who else "none"
        fix = (
            "sign in first (app: the sign-in form; command line: "
            "python cli.py --as-user NAME --password-stdin …)"
            if who is None
            else f"ask an administrator for the {role} role"
        )
        raise PermissionDeniedError(
            f"无权操作 / permission denied: {action!r} needs the {role} role; {name!r} has "
            f"{have!r}: {fix}"
        )
    return who


# ---------------------------------------------------------------- users file
#: Unknown names whose failures are remembered (the oldest are forgotten beyond this).
MAX_UNKNOWN_NAMES = 10_000


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random secret: unknown names are verified against it (same work)."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher().hash(os.urandom(16).hex()))
    return _DUMMY_HASH[0]


@contextmanager
def _locked(path: Path):
    """An exclusive lock (``fcntl.flock`` on ``FILE.lock``, mode 0600) around every
    read-modify-write of the users file: across threads and processes alike (each
    call opens its own descriptor, so two threads of one process exclude each other too)."""
    import fcntl

    lock = Path(str(path) + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AuthError(
            f"用户文件无法加锁 / cannot lock the users file {lock}: {exc.strerror}; check that "
            "its folder is writable by the server's user"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"users": {}}
    except (OSError, ValueError) as exc:
        raise AuthError(
            f"用户文件无法读取 / the users file cannot be read: {type(exc).__name__}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise AuthError("用户文件格式错误 / the users file is not an InnoMap users file")
    return data


def _write(path: Path, data: dict) -> None:
    """Atomic replace of a file created 0600 (``mkstemp``): the users file is never
    readable by others, not even for a moment, and never half-written."""
    import tempfile

    text = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise AuthError(
            f"用户文件无法写入 / cannot write the users file {path}: {exc.strerror}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise AuthError(
            f"用户文件无法写入 / cannot write the users file {path}: {exc.strerror}"
        ) from None


def _failures_path(path: Path) -> Path:
    return Path(str(path) + ".failures")


def add_user(
    path: str | Path, name: str, *, role: str, password: str, replace: bool = False
) -> None:
    """Add (or with ``replace`` update) a user with an argon2id hash of ``password``."""
    if not _NAME_RE.match(name or ""):
        raise AuthError(f"用户名无效 / invalid user name {name!r}: letters, digits, . _ @ - (≤ 64)")
    if role not in ROLES:
        raise AuthError(f"未知角色 / unknown role {role!r}: use {', '.join(ROLES)}")
    if len(password or "") < 8:
        raise AuthError("密码至少 8 个字符 / the password needs at least 8 characters")
    hashed = _hasher().hash(password)  # the slow part, outside the lock
    path = Path(path)
    with _locked(path):
        data = _read(path)
        if name in data["users"] and not replace:
            raise AuthError(
                f"用户 {name!r} 已存在 / user {name!r} exists: use --replace to change it"
            )
        data["users"][name] = {"hash": hashed, "role": role, "failed": 0, "locked_until": 0.0}
        _write(path, data)


def list_users(path: str | Path) -> list[dict]:
    return [
        {"name": n, "role": u["role"], "locked": u.get("locked_until", 0) > time.time()}
        for n, u in sorted(_read(Path(path))["users"].items())
    ]


def _count_failure(entry: dict, now: float) -> None:
    entry["failed"] = int(entry.get("failed", 0)) + 1
    if entry["failed"] >= MAX_FAILURES:
        entry["locked_until"] = now + LOCK_MINUTES * 60
        entry["failed"] = 0


def _unknown_failure(path: Path, name: str, now: float) -> None:
    """Count a failure of a name not in the users file (bounded table beside it)."""
    fpath = _failures_path(path)
    try:
        table = json.loads(fpath.read_text(encoding="utf-8"))
        if not isinstance(table, dict):
            table = {}
    except (OSError, ValueError):
        table = {}
    entry = table.pop(name, {"failed": 0, "locked_until": 0.0})
    _count_failure(entry, now)
    table[name] = entry  # most recent last
    while len(table) > MAX_UNKNOWN_NAMES:
        table.pop(next(iter(table)))
    _write(fpath, table)


def _unknown_entry(path: Path, name: str) -> dict:
    try:
        table = json.loads(_failures_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table.get(name, {}) if isinstance(table, dict) else {}


def verify_password(
    path: str | Path, name: str, password: str, *, now: float | None = None
) -> Actor:
    """Check a sign-in; counts failures and locks the name after ``MAX_FAILURES``.

    The whole check — read, verify, count, write — holds the users file's lock, so
    concurrent sign-ins are counted exactly (the lock comes after exactly
    ``MAX_FAILURES`` failures) and never undo a concurrent ``add_user``. Known,
    unknown and locked names take the same path (one argon2 verify each) and get
    the same answers, so names cannot be enumerated.

    Raises
    ------
    AuthError
        Wrong name or password (one message for both), or a locked name.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    now = time.time() if now is None else now
    path = Path(path)
    wrong = AuthError("用户名或密码错误 / wrong user name or password")
    with _locked(path):
        data = _read(path)
        user = data["users"].get(name)
        entry = user if user is not None else _unknown_entry(path, name)
        locked_until = float(entry.get("locked_until", 0) or 0)
        try:
            _hasher().verify(user["hash"] if user is not None else _dummy_hash(), password or "")
            ok = user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if locked_until > now:
            mins = max(1, round((locked_until - now) / 60))
            raise AuthError(
                f"账户已锁定, 请 {mins} 分钟后再试 / the account is locked for {mins} more "
                "minutes after repeated failures"
            )
        if not ok:
            if user is None:
                _unknown_failure(path, name, now)
            else:
                _count_failure(user, now)
                _write(path, data)
            raise wrong from None
        if user.get("failed") or user.get("locked_until"):
            user["failed"], user["locked_until"] = 0, 0.0
            _write(path, data)
        return Actor(name, user["role"])


# ---------------------------------------------------------------- trusted header
def load_role_map(path: str | Path | None) -> dict[str, str]:
    """``name = role`` lines (``#`` comments; ``*`` = default role) or a JSON object."""
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
    else:
        data = {}
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                k, v = (s.strip() for s in line.split("=", 1))
                data[k] = v
    bad = {k: v for k, v in data.items() if v not in ROLES}
    if bad:
        raise AuthError(f"角色映射中有未知角色 / unknown roles in the role map: {bad}")
    return data


def header_actor(value: str | None, role_map: dict[str, str]) -> Actor | None:
    """The actor named by the trusted header (None when absent or not in the map)."""
    name = (value or "").strip()
    if not name or not _NAME_RE.match(name):
        return None
    role = role_map.get(name) or role_map.get("*")
    return Actor(name, role) if role else None


def is_loopback(address: str | None) -> bool:
    """Whether a bind address accepts connections from this machine only."""
    import ipaddress

    text = (address or "").strip().strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_bind(address: str | None) -> None:
    """In trusted-header mode, refuse any bind that is not loopback-only.

    A header such as ``X-Remote-User`` can be forged by anyone who reaches the app
    directly; only a reverse proxy on the same machine may reach it.
    """
    if auth_mode() == "header" and not is_loopback(address):
        raise AuthError(
            f"可信请求头模式只能监听本机 / trusted-header mode "
            f"({os.environ.get('INNOMAP_TRUSTED_HEADER')}) refuses to serve on "
            f"{address or 'all interfaces'!r}: it must listen on loopback only — start it with "
            "--server.address 127.0.0.1 behind the reverse proxy (see deploy/)"
        )


def trusted_header() -> str:
    """The request header a trusted reverse proxy sets to the signed-in user's name."""
    return os.environ.get("INNOMAP_TRUSTED_HEADER", "").strip()


def role_map_path() -> str | None:
    return os.environ.get("INNOMAP_ROLE_MAP") or None


def users_path() -> str | None:
    return os.environ.get("INNOMAP_USERS") or None


def cli_actor(name: str | None, password: str | None) -> Actor | None:
    """Who runs a command: signed in from the users file, or the OS user in the role map.

    In open mode there is nothing to check (the local user acts as admin).
    """
    mode = auth_mode()
    if mode == "users":
        if not name:
            return None
        return verify_password(users_path(), name, password or "")
    if mode == "header":  # the real uid's name: USER / LOGNAME are the caller's to set
        import pwd

        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:  # no passwd entry: no name, no role
            return None
        return header_actor(name, load_role_map(role_map_path()))
    return None


def check_serve(address: str, *, allow_open: bool = False) -> None:
    """Check the sign-in set-up before the app serves on ``address``.

    Trusted-header mode listens on loopback only (:func:`check_bind`); open mode (no
    sign-in) refuses a network address unless ``allow_open`` (then it sets
    ``INNOMAP_ALLOW_OPEN_NETWORK=1``, which the app's page check reads); users mode needs a
    readable users file and header mode a role map.
    """
    check_bind(address)
    mode = auth_mode()
    if mode == "open" and not is_loopback(address):
        if not allow_open:
            raise AuthError(
                f"开放模式只监听本机 / open mode (no sign-in) refuses to serve on {address!r}: "
                "anyone on the network would be admin — turn sign-in on (INNOMAP_USERS or "
                "INNOMAP_TRUSTED_HEADER), or say so explicitly with --allow-open"
            )
        os.environ["INNOMAP_ALLOW_OPEN_NETWORK"] = "1"
    if mode == "users":
        list_users(users_path())  # readable and an InnoMap users file
    elif mode == "header" and not load_role_map(role_map_path()):
        raise AuthError(
            "可信请求头模式需要角色映射 / trusted-header mode needs INNOMAP_ROLE_MAP (name = role "
            "lines): without it nobody has a role"
        )


def sign_in_cli(name: str | None, *, password_stdin: bool = False) -> Actor | None:
    """Set who runs a command (``--as-user NAME --password-stdin``; roles are checked where
    data is changed, in the store). In users mode the password is the first line of stdin,
    never an argument or the environment."""
    import sys

    password = None
    if name and auth_mode() == "users":
        if not password_stdin:
            raise AuthError("--as-user 需要 --password-stdin / --as-user needs --password-stdin")
        password = sys.stdin.readline().rstrip("\r\n")
    actor = cli_actor(name, password)
    set_actor(actor)
    return actor
