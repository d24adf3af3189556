"""Benchmark (issue 26): how quickly the app answers a planner in headless Chromium.

Starts ``streamlit run app.py`` on the embedded demo project (a free loopback port,
the browser tests' launch flags, Debian's ``/usr/bin/chromium``) and drives it at
1280×800. A step ends when the page has *settled*: the expected element is shown
(a drawn map with the expected legend, or the expected numbers) and the script is
not running (``stApp``'s ``data-test-script-state``, and no status widget), both for
``QUIET_S`` in a row; the time recorded is when that
quiet stretch began. For every step it records

* ``wall_s``: from the navigation or the click to the settled page;
* ``server_cpu_s``: user + system CPU of the streamlit process and its children
  (``/proc/<pid>/stat``, reaped children included) from the step's start to its end;
* ``client_cpu_s``: the same for Chromium's own processes (this process's
  descendants named ``chromium``/``chrome``; Playwright's driver left out).

Steps (``--steps``, default all, in this order; each group in a new browser context):

* ``map``: the map page, first view after the server started, then warm (a new context);
* ``coverage``: the coverage page, then one click on 计算覆盖 → the service-circle map;
* ``siting``: the siting page, then one click on 求解选址 → the result map drawn;
* ``clusters``: the clusters page, then one click on 运行聚类 → the cluster map;
* ``whatif``: the siting page, its 情景推演 view, then one click on the map (adds a
  hypothetical incubator) → the incubator count shown one higher;
* ``nav``: a planner's page views within a session: the map page loaded once (not
  measured; the first-run guide closed), then every page of the sidebar by one click
  on its link, twice over (first visit in this server process, then a return) → the
  page's title shown and the script idle;
* ``baseline``: what Streamlit itself costs on this machine — a bare page with one
  title and one button (its own server) opened in a new browser context, first and
  warm: the floor under the "open page" steps, which include Streamlit's own start in
  a fresh browser.

A click is never repeated: if its result does not come (the page stays idle without
it for ``LOST_AFTER_S``, 30 s — 90 s with N sessions, where a click waits its turn —
or the time-out passes), the step is recorded as failed (``lost click``); the longest
stretch a step spent idle without its result is recorded too (``max_idle_gap_s``: a
long one that still ends in the result would mean the idle rule misjudges). Progress bars still on the page once it has settled are
recorded (``progress_left``). The analyses' own compute time is measured afterwards
in one process on the demo with the workflows' default requests (``--no-compute``
to skip), for the target "click → result ≤ compute + 0.5 s".

With ``--sessions N`` (N > 1) it runs the load scenario instead: one Chromium, N
browser contexts at once, each opening the siting page and clicking 求解选址 once as
soon as its page has settled; all must succeed. It reports median and max of page
ready and solve (click → result), the failures, and the server's and Chromium's CPU.
The server is warmed by one page view first (not measured). Then, in the same run, the
floor under those figures: the bare Streamlit page of ``baseline`` (its own server)
opened in N contexts at once (``--no-floor`` to skip; measured first, while the app's
server is idle, with the app's ``.streamlit/config.toml``) — what Streamlit and Chromium
alone cost at that load on this machine.

    python bench/ui_bench.py [--sessions 1] [--steps map,coverage,siting,clusters,whatif]
                             [--json OUT]

The machine's load average is printed beside the figures (``/proc/loadavg``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: the flags of tests/test_e2e_browser.py
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
QUIET_S = 0.5  # expected element shown and status widget idle this long: settled
LOST_AFTER_S = 30.0  # idle this long after a click without its result: the click was lost
#: with N sessions on 2 cores a click waits its turn idle (seen: 16 s at 10 sessions)
LOST_AFTER_LOADED_S = 90.0
POLL_S = 0.05
STEP_TIMEOUT_S = 120.0
GROUPS = ("map", "coverage", "siting", "clusters", "whatif", "nav", "baseline")
#: ``nav``: the sidebar's pages in this order (link text, URL path, the page's title
#: begins with), visited twice in one session — a planner's page views after the first
#: load (the first visit of each page in this server process, then a return)
NAV_PAGES = (
    ("集聚与热点", "/clusters_page", "集聚与热点"),
    ("15分钟服务圈", "/coverage_page", "15分钟"),
    ("孵化器选址", "/siting_page", "孵化器选址"),
    ("走廊剖面", "/profile_page", "走廊"),
    ("方案对比", "/compare_page", "已保存的运行"),
    ("图层与数据源", "/data_page", "图层"),
    ("导出", "/export_page", "导出"),
    ("地图", "/", "InnoMap"),
)
#: issue 26's targets
PAGE_READY_S = 1.5
PAGE_SERVER_CPU_S = 0.3
CLICK_OVER_COMPUTE_S = 0.5
CLICK_SERVER_OVER_COMPUTE_S = 0.2
WHATIF_S = 0.5
LOAD_MEDIAN_S = 5.0

TICK = os.sysconf("SC_CLK_TCK")

#: One round trip reads everything a step waits for: the script's state, the drawn
#: maps' legends (st_folium's iframes are same-origin), metrics, progress bars, errors.
PROBE_JS = """() => {
  // the script's state on the app's root (Streamlit's own e2e tests read it); the
  // status widget is not shown in every run of the script (seen: a long solve)
  const app = document.querySelector('[data-testid=stApp]');
  const state = app ? app.getAttribute('data-test-script-state') : 'initial';
  const running = ['initial', 'running', 'rerunRequested', 'stopRequested'].includes(state)
    || document.querySelector('[data-testid=stStatusWidget]') !== null;
  const legends = [];
  for (const f of document.querySelectorAll("iframe[title*='st_folium']")) {
    const box = f.getBoundingClientRect();
    if (!(box.height > 0 && box.width > 0)) continue;
    let d = null;
    try { d = f.contentDocument; } catch (e) { continue; }
    if (!d || !d.querySelector('[data-innomap-ready]')) continue;
    const leg = d.querySelector('.innomap-legend');
    if (leg) legends.push(leg.innerText);
  }
  const metrics = [...document.querySelectorAll('[data-testid=stMetricValue]')]
    .map(e => e.innerText.trim());
  const progress = [...document.querySelectorAll('[data-testid=stProgress]')]
    .map(e => e.innerText.trim());
  const errors = [...document.querySelectorAll('[data-testid=stException]')]
    .map(e => e.innerText.slice(0, 300));
  const h1 = document.querySelector('section.main h1, [data-testid=stMain] h1');
  const title = h1 ? h1.innerText.trim() : '';
  const path = location.pathname;
  return {running, legends, metrics, progress, errors, title, path};
}"""


# --- CPU from /proc ---------------------------------------------------------------


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, name, CPU seconds incl. reaped children) of ``pid``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    f = raw[raw.rindex(")") + 2 :].split()
    # fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return int(f[1]), name, (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / TICK


def _table() -> dict[int, tuple[int, str, float]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                out[int(entry)] = st
    return out


def _tree(table, root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p in seen or p not in table:
            continue
        seen.add(p)
        todo.extend(kids.get(p, ()))
    return seen


class Cpu:
    """CPU seconds of the server's process tree and of Chromium's processes."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def sample(self) -> tuple[float, float]:
        table = _table()
        server = _tree(table, self.server_pid)
        mine = _tree(table, os.getpid()) - server - {os.getpid()}
        s = sum(table[p][2] for p in server)
        c = sum(table[p][2] for p in mine if table[p][1].startswith("chrom"))
        return s, c


# --- the server -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    script: str = "app.py", cwd: Path | str = ROOT
) -> tuple[subprocess.Popen, str, float]:
    """``streamlit run app.py`` as the browser tests start it; (process, url, start s)."""
    port = _free_port()
    t = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=cwd,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url, time.perf_counter() - t
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("streamlit did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- waiting for a settled page ---------------------------------------------------


@dataclass
class Step:
    name: str
    kind: str  # "page" or "click"
    ok: bool = False
    wall_s: float | None = None
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None
    failure: str = ""
    progress_left: list[str] = field(default_factory=list)
    max_idle_gap_s: float = 0.0  # the longest stretch idle without the result
    note: str = ""


async def _probe(page) -> dict:
    try:
        return await page.evaluate(PROBE_JS)
    except Exception:  # navigating, a frame being replaced
        return {
            "running": True,
            "legends": [],
            "metrics": [],
            "progress": [],
            "errors": [],
            "title": "",
            "path": "",
        }


def _first_line(legend: str) -> str:
    return legend.strip().splitlines()[0].strip() if legend.strip() else ""


async def settle(page, done, t0: float, *, timeout_s: float, lost_after_s: float | None, poll_s):
    """Wait until ``done(probe)`` holds and the status widget is idle for ``QUIET_S``.

    Returns ``(settled_at or None, last probe, failure)``; ``lost_after_s``: give up
    when the page has been idle that long without the result (a lost click)."""
    since = None  # the settled stretch began
    idle_since = None  # idle without the result since
    gap = 0.0  # the longest such stretch (recorded: a long one that ends well is no loss)
    last: dict = {}
    while True:
        now = time.perf_counter()
        last = await _probe(page)
        last["max_idle_gap_s"] = gap = max(gap, now - idle_since if idle_since else 0.0)
        ok = done(last) and not last["running"]
        if last["errors"]:
            return None, last, "exception on the page: " + last["errors"][0]
        if ok:
            since = since or now
            if now - since >= QUIET_S:
                return since, last, ""
        else:
            since = None
        if not last["running"] and not done(last):
            idle_since = idle_since or now
            if lost_after_s is not None and now - idle_since >= lost_after_s:
                return None, last, f"lost click: page idle {lost_after_s:g} s without the result"
        else:
            idle_since = None
        if now - t0 > timeout_s:
            return None, last, f"no result within {timeout_s:g} s"
        await asyncio.sleep(poll_s)


SHOTS: Path | None = None  # --shots: a screenshot of every failed step here


async def _shot(page, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() else "_" for c in name)
        try:
            await page.screenshot(path=str(SHOTS / f"{safe}.png"), full_page=True)
        except Exception:  # a page gone: nothing to show
            pass


def legend_is(title: str):
    return lambda p: any(_first_line(x) == title for x in p["legends"])


def legend_has(text: str):
    return lambda p: any(text in x for x in p["legends"])


def _stuck_bars(probe: dict) -> list[str]:
    """Progress bars still shown on a settled page (should be gone or say 完成)."""
    return [b for b in probe.get("progress", []) if "完成" not in b]


async def measure(
    name, kind, cpu, page, action, done, *, timeout_s, lost_after_s=None, poll_s=POLL_S
):
    """One step: ``action()`` (a navigation or one click), then wait for ``done``."""
    step = Step(name, kind)
    s0, c0 = cpu.sample()
    t0 = time.perf_counter()
    try:
        await action()
    except Exception as e:  # the button or the map was not there to click
        step.failure = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        return step, {}
    at, probe, failure = await settle(
        page, done, t0, timeout_s=timeout_s, lost_after_s=lost_after_s, poll_s=poll_s
    )
    s1, c1 = cpu.sample()
    step.server_cpu_s, step.client_cpu_s = s1 - s0, c1 - c0
    step.progress_left = _stuck_bars(probe)
    step.max_idle_gap_s = probe.get("max_idle_gap_s", 0.0)
    if at is None:
        step.failure = failure
        await _shot(page, name)
    else:
        step.ok, step.wall_s = True, at - t0
    return step, probe


# --- the single-session flow ------------------------------------------------------


async def _new_page(browser):
    ctx = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    return ctx, await ctx.new_page()


async def _group_page_then_click(browser, cpu, url, group, path, page_done, button, result):
    ctx, page = await _new_page(browser)
    steps = []
    try:
        st, _ = await measure(
            f"{group}: open page",
            "page",
            cpu,
            page,
            lambda: page.goto(f"{url}/{path}"),
            page_done,
            timeout_s=STEP_TIMEOUT_S,
        )
        steps.append(st)
        if not st.ok:
            return steps
        btn = page.get_by_role("button", name=button)
        st, _ = await measure(
            f"{group}: click {button}",
            "click",
            cpu,
            page,
            lambda: btn.click(timeout=10_000),
            result,
            timeout_s=STEP_TIMEOUT_S,
            lost_after_s=LOST_AFTER_S,
        )
        steps.append(st)
    finally:
        await ctx.close()
    return steps


async def _open_twice(browser, cpu, url, labels, done) -> list[Step]:
    """``url`` opened in a new browser context once per label (first view, then warm)."""
    steps = []
    for label in labels:
        ctx, page = await _new_page(browser)
        try:
            st, _ = await measure(
                label,
                "page",
                cpu,
                page,
                lambda page=page: page.goto(url),
                done,
                timeout_s=STEP_TIMEOUT_S,
            )
        finally:
            await ctx.close()
        steps.append(st)
    return steps


async def _group_map(browser, cpu, url):
    labels = ("map: first view after start", "map: warm view (new context)")
    return await _open_twice(browser, cpu, url, labels, lambda p: bool(p["legends"]))


async def _group_nav(browser, cpu, url):
    """The sidebar's pages by one click each, twice over, in one session."""
    ctx, page = await _new_page(browser)
    steps = []
    try:
        await page.goto(url)
        await settle(
            page,
            lambda p: bool(p["legends"]),
            time.perf_counter(),
            timeout_s=STEP_TIMEOUT_S,
            lost_after_s=None,
            poll_s=POLL_S,
        )
        guide = page.get_by_role("button", name="开始使用")
        if await guide.count():
            await guide.click()
            await settle(
                page,
                lambda p: True,
                time.perf_counter(),
                timeout_s=STEP_TIMEOUT_S,
                lost_after_s=None,
                poll_s=POLL_S,
            )
        nav = page.get_by_test_id("stSidebarNav")
        for visit in ("first visit", "return"):
            for link, path, title in NAV_PAGES:
                target = nav.get_by_text(link, exact=True)
                st, _ = await measure(
                    f"nav: {link} ({visit})",
                    "page",
                    cpu,
                    page,
                    lambda target=target: target.click(timeout=10_000),
                    lambda p, path=path, title=title: (
                        p["path"].rstrip("/") == path.rstrip("/") and p["title"].startswith(title)
                    ),
                    timeout_s=STEP_TIMEOUT_S,
                    lost_after_s=LOST_AFTER_S,
                )
                steps.append(st)
    finally:
        await ctx.close()
    return steps


BARE_PAGE = """import streamlit as st
st.title("Bare page")
st.button("A button")
"""


def _bare_app(folder: str) -> str:
    """The bare page in ``folder`` with the app's own ``.streamlit/config.toml`` (the same
    server settings as the app's); returns the script's path."""
    (Path(folder) / ".streamlit").mkdir(exist_ok=True)
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    (Path(folder) / ".streamlit" / "config.toml").write_text(config, encoding="utf-8")
    (Path(folder) / "bare.py").write_text(BARE_PAGE, encoding="utf-8")
    return str(Path(folder) / "bare.py")


async def _group_baseline(browser):
    """A bare Streamlit page (title and button), its own server, opened in a new context."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="innomap-bare-") as d:
        proc, url, _ = start_server(script=_bare_app(d), cwd=d)
        try:
            labels = (
                "baseline: bare Streamlit page, first view",
                "baseline: bare Streamlit page, warm (new context)",
            )
            steps = await _open_twice(
                browser, Cpu(proc.pid), url, labels, lambda p: p["title"] == "Bare page"
            )
        finally:
            stop_server(proc)
    return steps


def _count(metrics: list[str], i: int) -> int | None:
    try:
        return int(metrics[i].replace(",", ""))
    except (IndexError, ValueError):
        return None


async def _group_whatif(browser, cpu, url):
    ctx, page = await _new_page(browser)
    steps = []
    try:
        st, _ = await measure(
            "whatif: open siting page",
            "page",
            cpu,
            page,
            lambda: page.goto(f"{url}/siting_page"),
            legend_is("需求与现有孵化器"),
            timeout_s=STEP_TIMEOUT_S,
        )
        steps.append(st)
        if not st.ok:
            return steps
        radio = page.get_by_test_id("stSidebar").get_by_text("情景推演(点击地图)")
        st, probe = await measure(
            "whatif: switch to 情景推演",
            "click",
            cpu,
            page,
            lambda: radio.click(timeout=10_000),
            lambda p: legend_is("情景")(p) and _count(p["metrics"], 1) is not None,
            timeout_s=STEP_TIMEOUT_S,
            lost_after_s=LOST_AFTER_S,
        )
        steps.append(st)
        if not st.ok:
            return steps
        before = _count(probe["metrics"], 1)
        iframe = page.locator("iframe[title*='st_folium']").first
        await iframe.scroll_into_view_if_needed()
        box = await iframe.bounding_box()

        async def click_map():
            await page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)

        st, _ = await measure(
            "whatif: click map (add incubator)",
            "whatif",
            cpu,
            page,
            click_map,
            lambda p: _count(p["metrics"], 1) == before + 1,
            timeout_s=STEP_TIMEOUT_S,
            lost_after_s=LOST_AFTER_S,
        )
        st.note = f"incubators {before} → {before + 1 if st.ok else '?'}"
        steps.append(st)
    finally:
        await ctx.close()
    return steps


async def run_steps(browser, cpu, url, groups) -> list[Step]:
    steps: list[Step] = []
    for g in groups:
        if g == "map":
            steps += await _group_map(browser, cpu, url)
        elif g == "coverage":
            steps += await _group_page_then_click(
                browser,
                cpu,
                url,
                "coverage",
                "coverage_page",
                legend_is("服务点与需求"),
                "计算覆盖",
                legend_has("15 分钟服务圈"),
            )
        elif g == "siting":
            steps += await _group_page_then_click(
                browser,
                cpu,
                url,
                "siting",
                "siting_page",
                legend_is("需求与现有孵化器"),
                "求解选址",
                legend_is("选址"),
            )
        elif g == "clusters":
            steps += await _group_page_then_click(
                browser,
                cpu,
                url,
                "clusters",
                "clusters_page",
                legend_is("分析图层"),
                "运行聚类",
                legend_is("密度聚类"),
            )
        elif g == "whatif":
            steps += await _group_whatif(browser, cpu, url)
        elif g == "nav":
            steps += await _group_nav(browser, cpu, url)
        elif g == "baseline":
            steps += await _group_baseline(browser)
    return steps


# --- N sessions at once -----------------------------------------------------------


@dataclass
class Session:
    i: int
    page_ready_s: float | None = None
    solve_s: float | None = None
    failure: str = ""
    progress_left: list[str] = field(default_factory=list)
    max_idle_gap_s: float = 0.0


async def _session(browser, url, i: int, timeout_s: float) -> Session:
    s = Session(i)
    ctx, page = await _new_page(browser)
    try:
        t0 = time.perf_counter()
        try:
            await page.goto(f"{url}/siting_page", timeout=timeout_s * 1000)
        except Exception as e:
            s.failure = f"open: {type(e).__name__}"
            return s
        at, _, failure = await settle(
            page,
            legend_is("需求与现有孵化器"),
            t0,
            timeout_s=timeout_s,
            lost_after_s=None,
            poll_s=0.2,
        )
        if at is None:
            s.failure = "page: " + failure
            return s
        s.page_ready_s = at - t0
        t1 = time.perf_counter()
        try:
            await page.get_by_role("button", name="求解选址").click(timeout=30_000)
        except Exception as e:
            s.failure = f"click: {type(e).__name__}"
            return s
        at, probe, failure = await settle(
            page,
            legend_is("选址"),
            t1,
            timeout_s=timeout_s,
            lost_after_s=LOST_AFTER_LOADED_S,
            poll_s=0.2,
        )
        s.progress_left = _stuck_bars(probe)
        s.max_idle_gap_s = probe.get("max_idle_gap_s", 0.0)
        if at is None:
            s.failure = "solve: " + failure
            await _shot(page, f"session{i}")
        else:
            s.solve_s = at - t1
    finally:
        await ctx.close()
    return s


async def run_sessions(browser, cpu, url, n: int, timeout_s: float) -> dict:
    # warm-up: one view of the siting page (imports, the demo read), not measured
    ctx, page = await _new_page(browser)
    await page.goto(f"{url}/siting_page")
    await settle(page, legend_is("需求与现有孵化器"), time.perf_counter(), timeout_s=120,
                 lost_after_s=None, poll_s=0.2)  # fmt: skip
    await ctx.close()
    s0, c0 = cpu.sample()
    t0 = time.perf_counter()
    sessions = await asyncio.gather(*(_session(browser, url, i, timeout_s) for i in range(n)))
    wall = time.perf_counter() - t0
    s1, c1 = cpu.sample()
    ready = [s.page_ready_s for s in sessions if s.page_ready_s is not None]
    solve = [s.solve_s for s in sessions if s.solve_s is not None]
    return {
        "sessions": n,
        "succeeded": sum(1 for s in sessions if s.solve_s is not None),
        "failures": [f"session {s.i}: {s.failure}" for s in sessions if s.failure],
        "page_ready_median_s": statistics.median(ready) if ready else None,
        "page_ready_max_s": max(ready) if ready else None,
        "solve_median_s": statistics.median(solve) if solve else None,
        "solve_max_s": max(solve) if solve else None,
        "wall_s": wall,
        "server_cpu_s": s1 - s0,
        "client_cpu_s": c1 - c0,
        "progress_left": sorted({b for s in sessions for b in s.progress_left}),
        "max_idle_gap_s": max(s.max_idle_gap_s for s in sessions),
        "per_session": [asdict(s) for s in sessions],
    }


async def _bare_session(browser, url: str, timeout_s: float) -> float | None:
    ctx, page = await _new_page(browser)
    try:
        t0 = time.perf_counter()
        await page.goto(url, timeout=timeout_s * 1000)
        at, _, _ = await settle(
            page,
            lambda p: p["title"] == "Bare page",
            t0,
            timeout_s=timeout_s,
            lost_after_s=None,
            poll_s=0.2,
        )
        return None if at is None else at - t0
    except Exception:  # a page that never opened: counted as failed
        return None
    finally:
        await ctx.close()


async def run_floor_sessions(browser, n: int, timeout_s: float) -> dict:
    """The bare Streamlit page (title and button, its own server) in ``n`` contexts at once."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="innomap-bare-") as d:
        try:
            proc, url, _ = start_server(script=_bare_app(d), cwd=d)
        except SystemExit as e:  # the figures of the app's sessions are kept all the same
            return {"sessions": n, "error": str(e)}
        try:
            await _bare_session(browser, url, timeout_s)  # warm-up, not measured
            cpu = Cpu(proc.pid)
            s0, c0 = cpu.sample()
            t0 = time.perf_counter()
            ready = await asyncio.gather(
                *(_bare_session(browser, url, timeout_s) for _ in range(n))
            )
            wall = time.perf_counter() - t0
            s1, c1 = cpu.sample()
        finally:
            stop_server(proc)
    ok = [r for r in ready if r is not None]
    return {
        "sessions": n,
        "succeeded": len(ok),
        "page_ready_median_s": statistics.median(ok) if ok else None,
        "page_ready_max_s": max(ok) if ok else None,
        "wall_s": wall,
        "server_cpu_s": s1 - s0,
        "client_cpu_s": c1 - c0,
    }


# --- the analyses' own compute ----------------------------------------------------

_COMPUTE = """
import json, time
from layers.project import open_project
from workflows import clusters, coverage, siting
p = open_project(None)
jobs = {
    "coverage": lambda: coverage.run(p, coverage.CoverageRequest()),
    "siting": lambda: siting.run(p, siting.SitingRequest()),
    "clusters": lambda: clusters.run(p, clusters.ClustersRequest()),
}
out = {}
for k, f in jobs.items():
    f()  # the first call: imports and the project's caches
    t = time.perf_counter(); f(); out[k] = time.perf_counter() - t
print(json.dumps(out))
"""


def compute_times() -> dict[str, float]:
    """Each analysis's warm wall time on the demo (workflows' default requests)."""
    r = subprocess.run(
        [sys.executable, "-c", _COMPUTE], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print("compute reference failed:", r.stderr[-1000:], file=sys.stderr)
        return {}


# --- report -----------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _click_misses(step: Step, compute: dict[str, float]) -> list[str]:
    group = step.name.split(":")[0]
    if step.kind == "whatif":
        return [f"> {WHATIF_S:g} s"] if step.wall_s > WHATIF_S else []
    if group not in compute:  # a view switch: held to a page's target
        return [f"> {PAGE_READY_S:g} s"] if step.wall_s > PAGE_READY_S else []
    c, miss = compute[group], []
    if step.wall_s > c + CLICK_OVER_COMPUTE_S:
        miss.append(f"> compute {c:.2f} + {CLICK_OVER_COMPUTE_S:g} s")
    if step.server_cpu_s > c + CLICK_SERVER_OVER_COMPUTE_S:
        miss.append(f"server CPU > compute + {CLICK_SERVER_OVER_COMPUTE_S:g} s")
    return miss


def _targets(step: Step, compute: dict[str, float]) -> str:
    """What the step misses of issue 26's targets ("" when it meets them)."""
    if not step.ok:
        return "FAILED"
    if step.kind != "page":
        return "; ".join(_click_misses(step, compute))
    miss = []
    if step.wall_s > PAGE_READY_S:
        miss.append(f"ready > {PAGE_READY_S:g} s")
    if step.server_cpu_s > PAGE_SERVER_CPU_S:
        miss.append(f"server CPU > {PAGE_SERVER_CPU_S:g} s")
    return "; ".join(miss)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _f(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def print_steps(steps: list[Step], compute: dict[str, float], load: tuple[str, str]) -> None:
    w = max(_width(s.name) for s in steps) + 2
    print(f"\n{_pad('step', w)} {'wall s':>7} {'server CPU s':>12} {'Chromium CPU s':>14}  targets")
    for s in steps:
        miss = _targets(s, compute)
        extra = f" ({s.failure})" if s.failure else ""
        extra += f" [progress left: {' | '.join(s.progress_left)}]" if s.progress_left else ""
        extra += f" {s.note}" if s.note else ""
        extra += f" (idle {s.max_idle_gap_s:.1f} s on the way)" if s.max_idle_gap_s > 2 else ""
        print(
            f"{_pad(s.name, w)} {_f(s.wall_s):>7} {_f(s.server_cpu_s):>12} "
            f"{_f(s.client_cpu_s):>14}  {miss or 'met'}{extra}"
        )
    if compute:
        print(
            "compute (warm, workflows' default request, in one process): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in compute.items())
        )
    print(f"load average before / after: {load[0]} / {load[1]}")


def print_sessions(r: dict, load: tuple[str, str]) -> None:
    print(
        f"\n{r['sessions']} sessions (one Chromium, {r['sessions']} contexts, siting page + 求解选址): "
        f"{r['succeeded']}/{r['sessions']} succeeded in {r['wall_s']:.1f} s"
    )
    print(f"{'':<12} {'median s':>9} {'max s':>7}")
    print(f"{'page ready':<12} {_f(r['page_ready_median_s']):>9} {_f(r['page_ready_max_s']):>7}")
    print(f"{'solve':<12} {_f(r['solve_median_s']):>9} {_f(r['solve_max_s']):>7}")
    print(f"server CPU {r['server_cpu_s']:.1f} s, Chromium CPU {r['client_cpu_s']:.1f} s")
    print(f"longest stretch idle without the awaited result: {r['max_idle_gap_s']:.1f} s")
    for f in r["failures"]:
        print("FAILED", f)
    if r["progress_left"]:
        print("progress bars left:", " | ".join(r["progress_left"]))
    med = r["page_ready_median_s"], r["solve_median_s"]
    ok = r["succeeded"] == r["sessions"] and (
        r["sessions"] > 10 or all(m is not None and m <= LOAD_MEDIAN_S for m in med)
    )
    print(
        "targets:",
        "met" if ok else f"missed (all succeed; at 10 sessions medians ≤ {LOAD_MEDIAN_S:g} s)",
    )
    print(f"load average before / after: {load[0]} / {load[1]}")
    f = r.get("floor")
    if f and f.get("error"):
        print(f"floor: not measured ({f['error']})")
    elif f:
        print(
            f"floor, the bare Streamlit page in {f['sessions']} contexts at once: "
            f"{f['succeeded']}/{f['sessions']} ready, median {_f(f['page_ready_median_s'])} s, "
            f"max {_f(f['page_ready_max_s'])} s; server CPU {f['server_cpu_s']:.1f} s, "
            f"Chromium CPU {f['client_cpu_s']:.1f} s"
        )


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    load0 = _loadavg()
    proc, url, start_s = start_server()
    result: dict = {"server_start_s": start_s, "sessions": args.sessions}
    try:
        cpu = Cpu(proc.pid)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                if args.sessions > 1:
                    # the floor first, while the app's server is idle (nothing of the app's
                    # sessions still running beside it)
                    floor = (
                        None
                        if args.no_floor
                        else await run_floor_sessions(browser, args.sessions, args.timeout)
                    )
                    result["load"] = await run_sessions(
                        browser, cpu, url, args.sessions, args.timeout
                    )
                    if floor is not None:
                        result["load"]["floor"] = floor
                else:
                    steps = await run_steps(browser, cpu, url, args.steps)
                    result["steps"] = [asdict(s) for s in steps]
            finally:
                await browser.close()
    finally:
        stop_server(proc)
    load1 = _loadavg()
    result["loadavg"] = {"before": load0, "after": load1}
    if args.sessions > 1:
        print_sessions(result["load"], (load0, load1))
    else:
        compute = {} if args.no_compute else compute_times()
        result["compute_s"] = compute
        steps = [Step(**s) for s in result["steps"]]
        for s, d in zip(steps, result["steps"], strict=True):
            d["targets_missed"] = _targets(s, compute)
        print_steps(steps, compute, (load0, load1))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1, help="N > 1: N concurrent sessions")
    ap.add_argument(
        "--steps",
        default=",".join(GROUPS),
        help=f"comma-separated subset of {','.join(GROUPS)} (one session)",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="per session, N > 1 (s)")
    ap.add_argument("--no-compute", action="store_true", help="skip the compute reference")
    ap.add_argument(
        "--no-floor",
        action="store_true",
        help="N > 1: skip the bare Streamlit page opened in N contexts at once",
    )
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--shots", help="save a screenshot of every failed step in this folder")
    args = ap.parse_args()
    global SHOTS
    SHOTS = Path(args.shots) if args.shots else None
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(args.steps) - set(GROUPS)
    if unknown:
        ap.error(f"unknown steps {sorted(unknown)}; choose from {','.join(GROUPS)}")
    if not Path(CHROMIUM).exists():
        ap.error(f"{CHROMIUM} not found (apt-get install chromium)")
    result = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
