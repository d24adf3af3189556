"""``user add|list`` (the sign-in users file) and ``serve`` (the app, after checking the set-up)."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parsers"]


def _read_password(args: argparse.Namespace) -> str:
    """The password from stdin (first line): never from the command line or the environment."""
    if not getattr(args, "password_stdin", False):
        from layers.auth import AuthError

        raise AuthError("需要 --password-stdin / give the password on stdin with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


def _cmd_user_add(args: argparse.Namespace) -> int:
    from layers import auth

    auth.add_user(
        args.users, args.name, role=args.role, password=_read_password(args), replace=args.replace
    )
    print(f"用户 {args.name} ({args.role}) 已保存 / user {args.name!r} saved")
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    from layers import auth

    rows = auth.list_users(args.users)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['name']}\t{r['role']}" + ("\tlocked" if r["locked"] else ""))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    """Check the sign-in set-up, then start the app (``streamlit run app.py``) in this process."""
    import os
    from pathlib import Path

    from layers import auth

    auth.check_bind(args.address)
    mode = auth.auth_mode()
    if mode == "open" and not auth.is_loopback(args.address):
        if not args.allow_open:
            raise auth.AuthError(
                f"开放模式只监听本机 / open mode (no sign-in) refuses to serve on {args.address!r}: "
                "anyone on the network would be admin — turn sign-in on (INNOMAP_USERS or "
                "INNOMAP_TRUSTED_HEADER), or say so explicitly with --allow-open"
            )
        os.environ["INNOMAP_ALLOW_OPEN_NETWORK"] = "1"  # the app's page check reads it
    if mode == "users":
        auth.list_users(auth.users_path())  # readable and an InnoMap users file
    elif mode == "header" and not auth.load_role_map(auth.role_map_path()):
        raise auth.AuthError(
            "可信请求头模式需要角色映射 / trusted-header mode needs INNOMAP_ROLE_MAP (name = role "
            "lines): without it nobody has a role"
        )
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        app,
        "--server.address",
        args.address,
        "--server.port",
        str(args.port),
    ]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def _add_user_parser(sub) -> None:
    """``user add|list``: the local users file of the sign-in mode (INNOMAP_USERS)."""
    up = sub.add_parser(
        "user",
        help="users of the app's sign-in (a local users file with argon2 hashes)",
        description="Manage the users file read by the app when started with INNOMAP_USERS=FILE.",
    )
    usub = up.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a user (password read from stdin, stored as argon2id)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    p.add_argument("--users", required=True, metavar="FILE", help="users file (JSON)")
    p.add_argument(
        "--password-stdin",
        dest="password_stdin",
        action="store_true",
        help="read the password from the first line of stdin (required)",
    )
    p.add_argument("--replace", action="store_true", help="change an existing user")
    p.set_defaults(func=_cmd_user_add)
    p = usub.add_parser("list", help="users with their roles (no hashes)")
    p.add_argument("--users", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_user_list)


def add_parsers(sub) -> None:
    """``user`` and ``serve``."""
    _add_user_parser(sub)
    p = sub.add_parser(
        "serve",
        help="start the app after checking the sign-in set-up (trusted-header mode: loopback only)",
    )
    p.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--allow-open",
        action="store_true",
        help="in open mode (no sign-in), serve on a non-loopback --address anyway "
        "(sets INNOMAP_ALLOW_OPEN_NETWORK=1: anyone who reaches it can change data)",
    )
    p.set_defaults(func=_cmd_serve)
