"""``user add|list`` (the sign-in users file) and ``serve`` (the app, after checking the set-up)."""

from __future__ import annotations

import argparse
import sys

from commands.common import command, flags, opts, show

__all__ = ["add_parsers"]


def _cmd_user_add(args: argparse.Namespace) -> int:
    from layers import auth

    if not args.password_stdin:  # never from the command line or the environment
        raise auth.AuthError(
            "需要 --password-stdin / give the password on stdin with --password-stdin"
        )
    password = sys.stdin.readline().rstrip("\r\n")
    auth.add_user(args.users, args.name, role=args.role, password=password, replace=args.replace)
    print(f"用户 {args.name} ({args.role}) 已保存 / user {args.name!r} saved")
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    from layers import auth

    rows = auth.list_users(args.users)
    lines = (f"{r['name']}\t{r['role']}" + ("\tlocked" if r["locked"] else "") for r in rows)
    return show(args, rows, lines, indent=1)


def _cmd_serve(args: argparse.Namespace) -> int:
    """Check the sign-in set-up, then start the app (``streamlit run app.py``) in this process."""
    import os
    from pathlib import Path

    from layers import auth

    auth.check_serve(args.address, allow_open=args.allow_open)
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    server = ["--server.address", args.address, "--server.port", str(args.port)]
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", app, *server])
    return 0  # not reached


def add_parsers(sub) -> None:
    """``user add|list`` (the users file of INNOMAP_USERS) and ``serve``."""
    from layers.auth import ROLES

    usub = command(sub, "user").add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = command(usub, "add", _cmd_user_add)
    opts(p, "name NAME", "--users FILE!")
    p.add_argument("--role", required=True, choices=list(ROLES))
    flags(p, "--password-stdin", "--replace")
    p = command(usub, "list", _cmd_user_list)
    opts(p, "--users FILE!")
    flags(p, "--json")
    p = command(sub, "serve", _cmd_serve)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    flags(p, "--allow-open")
