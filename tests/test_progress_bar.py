"""The page's progress bar (``ui/progress.py``) goes when its work ends, however it ends."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from ui.progress import ProgressBar

    how = st.session_state.get("how", "done")
    try:
        with ProgressBar("读取", key="p", unit="行", lazy=True) as bar:
            bar(0, 1209)  # drawn: work left
            if how == "fails":
                raise RuntimeError("the work failed")
    except RuntimeError:
        st.session_state["failed"] = True
    st.markdown("after")


def _bars(how: str) -> tuple[list, list]:
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["how"] = how
    at.run()
    assert not at.exception
    return at.get("progress"), [b for b in at.button if b.key == "p_cancel"]


def test_bar_and_cancel_go_when_the_work_is_done():
    assert _bars("done") == ([], [])


def test_bar_and_cancel_go_when_the_work_stops_with_an_exception():
    assert _bars("fails") == ([], [])


def test_stage_label_names_the_step():
    at = AppTest.from_function(_label_script, default_timeout=30).run()
    assert not at.exception
    assert at.markdown[0].value.startswith("计算: 路网 (1 / 4) · ")


def _label_script() -> None:
    import streamlit as st

    from ui.progress import ProgressBar

    bar = ProgressBar("计算", key="q", stages=("路网", "图层", "覆盖", "结果"), cancel=False)
    st.markdown(bar.label(0, 4))
    bar.close()
