"""Session project: which project this session works on, opened once per change.

The current project reference (``demo`` or a ``.gpkg`` path on the server) lives
in ``st.session_state["project_ref"]``; the opened :class:`~layers.project.Project`
is cached per (reference, file modification time — or, in PostGIS, the project
version), so every page of every session, on every app server, sees a change as
soon as it is committed, and nothing is re-read when nothing changed. Pages treat the returned project as read-only and call the
store functions (``layers.project``) to change it, then :func:`refresh_project`.
"""

from __future__ import annotations

import os

import streamlit as st

from layers.project import DEMO_REF, Project, open_project
from layers.registry import REGISTRY

__all__ = [
    "RESULT_KEYS",
    "apply_secrets",
    "current_project",
    "innomap_home",
    "layer_choices",
    "layer_label",
    "project_ref",
    "projects_dir",
    "recent_projects",
    "refresh_project",
    "remember_project",
    "set_project",
    "team_projects",
]

#: Session results that belong to one project (cleared when the project changes).
RESULT_KEYS = (
    "coverage_result",
    "coverage_sensitivity",
    "cov_pack",
    "site_result",
    "site_pack",
    "cl_report",
    "cl_pack",
    "hs_report",
    "hs_pack",
    "whatif_sites",
    "whatif_move_from",
    "scenarios",
    "site_clicked",
    "network_ref",
    "network_graph",
    "cov_osm_path",
)

#: Environment variable naming the project opened by default (else the demo).
PROJECT_ENV = "INNOMAP_PROJECT"


def _stamp(ref: str) -> tuple[int, int]:
    """What changes when the project changes: the file's mtime and size, or the PostGIS version
    (so an app server sees another server's import on its next rerun)."""
    from layers import store_postgis

    if store_postgis.is_pg_ref(ref):
        return (store_postgis.version(ref), 0)
    try:
        st_ = os.stat(ref)
    except OSError:
        return (0, 0)
    return (st_.st_mtime_ns, st_.st_size)


@st.cache_resource(show_spinner=False, max_entries=8)
def _open_cached(ref: str, stamp: tuple[int, int]) -> Project:
    return open_project(ref)


def team_projects() -> list[str]:
    """Projects anyone signed in may open: ``$INNOMAP_PROJECT``, ``$INNOMAP_PROJECTS``
    (comma-separated) and the projects folder. Opening any other reference (a path typed
    or put in the URL) needs the admin role; what an admin opened is in the admin's own
    recent list only (:func:`recent_projects` is per user), never shared."""
    refs = [os.environ.get(PROJECT_ENV, "")]
    refs += os.environ.get("INNOMAP_PROJECTS", "").split(",")
    refs += [str(p) for p in sorted(projects_dir().glob("*.gpkg"))]
    out: list[str] = []
    for r in (r.strip() for r in refs):
        if r and r not in out:
            out.append(r)
    return out


def _may_open(ref: str) -> bool:
    from layers import auth

    return ref == DEMO_REF or auth.can("admin") or ref in team_projects()


def _host_ok(ref: str, *, from_link: bool) -> bool:
    """Whether a PostGIS reference may be opened from the app: only on a database host the
    server was configured for, and never from a link in open mode (one link clicked by an
    anonymous visitor would make the server offer its password to the sender's host)."""
    from layers import auth, store_postgis

    if not store_postgis.is_pg_ref(ref):
        return True
    if from_link and not auth.enforcing() and ref != os.environ.get(PROJECT_ENV, ""):
        return False
    return store_postgis.host_port(ref) in store_postgis.configured_hosts()


def apply_secrets() -> None:
    """The PostGIS password from the app's secrets (``PGPASSWORD = "…"`` or ``[postgres]
    password``) for libpq, unless ``PGPASSWORD`` is already set. Never shown or logged."""
    if os.environ.get("PGPASSWORD"):
        return
    try:
        secrets = st.secrets
        value = secrets.get("PGPASSWORD") or (secrets.get("postgres") or {}).get("password")
    except (FileNotFoundError, KeyError, AttributeError, st.errors.StreamlitSecretNotFoundError):
        return
    if value:
        os.environ["PGPASSWORD"] = str(value)


def project_ref() -> str:
    """The reference of the session's project (default: ``$INNOMAP_PROJECT`` or the demo)."""
    if "project_ref" not in st.session_state:
        # a reload or a shared link keeps the project: it is in the URL (?project=…)
        wanted = st.query_params.get("project") or os.environ.get(PROJECT_ENV) or DEMO_REF
        ok = _may_open(wanted) and _host_ok(wanted, from_link=True)
        st.session_state["project_ref"] = wanted if ok else DEMO_REF
    ref = st.session_state["project_ref"]
    if ref != DEMO_REF and not _may_open(ref):  # rights checked on every rerun
        for k in ("project_ref", *RESULT_KEYS):  # nothing of that project stays
            st.session_state.pop(k, None)
        st.query_params.pop("project", None)
        return project_ref()  # the default project (always openable)
    if (
        ref != DEMO_REF
        and st.query_params.get("project") != ref
        and st.session_state.get("project_failed") != ref
    ):
        st.query_params["project"] = ref
    return ref


def current_project() -> Project:
    """The session's project (shared, read-only object: change it via ``layers.project``).

    A project that cannot be opened (damaged, gone) raises its ``ProjectError`` for the page
    to show, and its reference leaves the URL, so a reload does not repeat the failure."""
    from layers.project import ProjectError

    ref = project_ref()
    try:
        project = _open_cached(ref, _stamp(ref) if ref != DEMO_REF else (0, 0))
    except ProjectError:
        st.session_state["project_failed"] = ref
        st.query_params.pop("project", None)
        raise
    st.session_state.pop("project_failed", None)
    return project


def set_project(ref: str) -> Project:
    """Open ``ref`` (raises ``ProjectError`` if it cannot be opened) and make it current."""
    from layers import auth, store_postgis

    ref = str(ref)
    if not _may_open(ref):
        raise auth.PermissionDeniedError(
            "无权打开此项目 / opening a project outside the team's list needs the admin role"
        )
    if not _host_ok(ref, from_link=False):
        store_postgis.check_host(ref)  # raises, naming the host and the fix
    project = _open_cached(ref, _stamp(ref) if ref != DEMO_REF else (0, 0))
    st.session_state["project_ref"] = ref
    if ref == DEMO_REF:
        st.query_params.pop("project", None)
    else:
        st.query_params["project"] = ref
    remember_project(ref)
    return project


def refresh_project() -> Project:
    """Re-open the current project after a change (the cache key is the file's mtime)."""
    return current_project()


def layer_choices(project: Project, kinds: tuple[str, ...] | list[str]) -> list[str]:
    """Widget options for a role: the kinds present (all layers of that kind), then layer names.

    A value is a layer reference understood by ``workflows.common.select_layers``.
    """
    out = [k for k in kinds if project.layers_of_kind(k)]
    out += [name for name, lyr in project.layers.items() if lyr.kind in kinds and name not in out]
    return out


def layer_label(project: Project, ref: str, lang: str = "zh") -> str:
    """Display label of a layer reference (kind name with count, or layer name and file)."""
    if ref in REGISTRY and ref not in project.layers:
        n = sum(lyr.rows for lyr in project.layers_of_kind(ref))
        return f"{REGISTRY[ref].name(lang)} ({'全部' if lang == 'zh' else 'all'}, {n:,})"
    lyr = project.layers.get(ref)
    if lyr is None:
        return ref
    spec = REGISTRY[lyr.kind]
    src = f" · {lyr.source_file}" if lyr.source_file and lyr.name != lyr.kind else ""
    label = spec.name(lang) if lyr.name == lyr.kind else lyr.name
    return f"{label} ({lyr.rows:,}){src}"


# ---------------------------------------------------------------- recent projects
def innomap_home():
    """The folder for the app's own files: ``$INNOMAP_HOME`` or ``~/.innomap``."""
    from pathlib import Path

    return Path(os.environ.get("INNOMAP_HOME") or Path.home() / ".innomap")


def projects_dir():
    """Where new projects are written by default (``<home>/projects``)."""
    d = innomap_home() / "projects"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _recent_file():
    """The acting user's recent list: ``<home>/recent.json`` in open mode (the local user),
    else ``<home>/recent/<digest of the user name>.json`` — one list per user."""
    import hashlib

    from layers import auth

    who = auth.current_actor()
    if not auth.enforcing():
        return innomap_home() / "recent.json"
    name = who.name if who is not None else ""
    return innomap_home() / "recent" / f"{hashlib.sha256(name.encode()).hexdigest()[:24]}.json"


def recent_projects() -> list[str]:
    """Projects the acting user opened recently (newest first); nobody else's."""
    import json

    from layers import auth

    if auth.enforcing() and auth.current_actor() is None:
        return []
    f = _recent_file()
    try:
        refs = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in refs if isinstance(r, str)]


def remember_project(ref: str, *, keep: int = 12) -> None:
    """Put ``ref`` first in the recent list (written atomically)."""
    import json

    from layers import auth
    from layers.io_safe import atomic_write

    if ref == DEMO_REF or (auth.enforcing() and auth.current_actor() is None):
        return
    refs = [ref, *[r for r in recent_projects() if r != ref]][:keep]
    target = _recent_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        target,
        lambda tmp: tmp.write_text(json.dumps(refs, ensure_ascii=False), encoding="utf-8"),
        force=True,
    )
