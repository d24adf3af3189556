"""Who is using the app: the sign-in form, the trusted header, the idle timeout.

Runs first on every rerun (``app.py``) and sets the acting user for this run
(:func:`layers.auth.set_actor`); the project store checks that user's role on
every change. Hiding widgets from viewers is a courtesy, not the protection.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from layers import auth
from ui.common import T, md_text

__all__ = ["ALLOW_OPEN_ENV", "auth_gate", "drop_session"]

_KEY = "auth_user"
#: Who this session's state belongs to (``name:role``; ``""`` in open mode).
_OWNER = "session_owner"
#: Session keys that belong to nobody (kept when the user changes).
_KEEP = ("lang_choice", "auth_note")
#: Environment variable that lets open mode (no sign-in) serve on a non-loopback address.
ALLOW_OPEN_ENV = "INNOMAP_ALLOW_OPEN_NETWORK"


def drop_session(*, note: str | None = None, keep: tuple[str, ...] = ()) -> None:
    """Forget everything this session held for its user: the project (and ``?project=``),
    results, uploads, caches — every session key except the language.

    Called on sign-out, idle time-out and whenever the acting user changes, so the next
    user of the same browser tab starts from the default project with nothing of the last.
    """
    for k in list(st.session_state.keys()):
        if k not in _KEEP and k not in keep:
            del st.session_state[k]
    if note:
        st.session_state["auth_note"] = note
    st.query_params.pop("project", None)


def _refuse(message: str) -> None:
    st.error(message)
    st.stop()


def _header_actor() -> auth.Actor:
    try:
        auth.check_bind(st.get_option("server.address"))
        role_map = auth.load_role_map(auth.role_map_path())
    except (auth.AuthError, OSError, ValueError) as exc:
        _refuse(
            str(exc)
            if isinstance(exc, auth.AuthError)
            else T("角色映射文件无法读取", "The role map file cannot be read")
            + f": {type(exc).__name__}"
        )
    header = auth.trusted_header()
    actor = auth.header_actor(st.context.headers.get(header), role_map)
    if actor is None:
        _refuse(
            T(
                "未授权: 反向代理没有提供已授权的用户 (请通过单点登录访问, 或请管理员在角色映射中加入您)。",
                "Not authorised: the reverse proxy named no user with a role (sign in through the "
                "intranet single sign-on, or ask an administrator to add you to the role map).",
            )
        )
    return actor


def _session_actor() -> auth.Actor | None:
    """The signed-in user of this session, unless idle for longer than the limit."""
    held = st.session_state.get(_KEY)
    if not held:
        return None
    now = time.time()
    if now - held["last"] > auth.idle_minutes() * 60:
        drop_session(
            note=T(
                "会话因长时间未操作已结束, 请重新登录。",
                "Your session ended after inactivity: sign in again.",
            )
        )
        return None
    held["last"] = now
    return auth.Actor(held["name"], held["role"])


def _sign_in_form() -> None:
    st.title(T("InnoMap 创新资源一张图 · 登录", "InnoMap · Sign in"))
    note = st.session_state.pop("auth_note", None)
    if note:
        st.info(note)
    with st.form("signin"):
        name = st.text_input(T("用户名", "User name"), key="signin_name")
        password = st.text_input(T("密码", "Password"), type="password", key="signin_password")
        go = st.form_submit_button(T("登录", "Sign in"))
    if go:
        st.session_state.pop("signin_password", None)
        try:
            actor = auth.verify_password(auth.users_path(), name.strip(), password)
        except auth.AuthError as exc:
            st.error(md_text(exc))
        else:
            st.session_state[_KEY] = {"name": actor.name, "role": actor.role, "last": time.time()}
            st.rerun()
    st.stop()


_ROLE_ZH = {"viewer": "查看者", "editor": "编辑者", "admin": "管理员"}


def _check_open_bind() -> None:
    """Open mode serves this machine only: refuse a page served on another address unless
    ``INNOMAP_ALLOW_OPEN_NETWORK=1`` (``cli.py serve --allow-open``)."""
    address = st.get_option("server.address")
    if auth.is_loopback(address) or os.environ.get(ALLOW_OPEN_ENV, "").strip() == "1":
        return
    _refuse(
        T(
            f"开放模式 (未启用登录) 只在本机回环地址提供服务, 当前监听 {address or '所有网络接口'}: "
            "请用 --server.address 127.0.0.1 启动, 或启用登录 (INNOMAP_USERS / "
            "INNOMAP_TRUSTED_HEADER); 确需对网络开放请设 INNOMAP_ALLOW_OPEN_NETWORK=1 "
            "(python cli.py serve --allow-open)。",
            f"Open mode (no sign-in) serves loopback only, and this app listens on "
            f"{address or 'all interfaces'}: start it with --server.address 127.0.0.1, or turn "
            "sign-in on (INNOMAP_USERS / INNOMAP_TRUSTED_HEADER); to open it to the network "
            "anyway set INNOMAP_ALLOW_OPEN_NETWORK=1 (python cli.py serve --allow-open).",
        )
    )


def _same_owner(actor: auth.Actor | None) -> None:
    """Drop the session's state when its user changed since the last run."""
    owner = f"{actor.name}:{actor.role}" if actor is not None else ""
    held = st.session_state.get(_OWNER)
    if held is not None and held != owner:
        drop_session(keep=(_KEY,))  # the new user's sign-in stays
    st.session_state[_OWNER] = owner


def auth_gate() -> None:
    """Set the acting user for this run; stop with a sign-in form or a refusal when there is none."""
    mode = auth.auth_mode()
    auth.set_actor(None)
    if mode == "open":
        _check_open_bind()
        _same_owner(None)
        st.sidebar.caption(
            T(
                "开放模式: 未启用登录, 能访问本应用的任何人都可以修改数据。",
                "Open mode: no sign-in; anyone who reaches this app can change data.",
            )
        )
        return
    if mode == "header":
        actor = _header_actor()
    else:
        actor = _session_actor()
        if actor is None:
            _sign_in_form()
    _same_owner(actor)
    auth.set_actor(actor)
    role = _ROLE_ZH[actor.role] if T("zh", "en") == "zh" else actor.role
    name = md_text(actor.name)
    st.sidebar.caption(T(f"当前用户: {name} · {role}", f"Signed in: {name} · {role}"))
    if mode == "users" and st.sidebar.button(T("退出登录", "Sign out"), key="signout"):
        drop_session()
        st.rerun()
