"""attnviz: a router. Each page is a thin script in pages/ that wires widgets to attnviz calls.

URL paths are the file names. A ``pages/`` folder beside this file would make Streamlit run a fresh server's
first visits in its legacy folder mode; the server declares its own navigation as it imports this file
(ui/navigation.py), so every visit, the very first one too, goes through this router. An engine error a
page raises is shown here (ui/errors.py). This file imports nothing of the engine, so the navigation is drawn
before a page loads torch.

`streamlit run app.py` first imports this file as a module to find its server: ``app``, an ``st.App`` whose
start-up warms the server (ui/warm_up.py) before the first visitor comes. Each visitor's run executes it as
``__main__``: the router.
"""

from pathlib import Path

import streamlit as st

from ui.errors import shown_errors
from ui.lang import language_picker, tr
from ui.navigation import declare_own_navigation, file_name_alias
from ui.url_state import remember_link, report_rejected_link

PAGES = Path(__file__).resolve().parent / "pages"  # found from here, whichever script runs this router


def route() -> None:
    st.set_page_config(page_title="attnviz", page_icon=":material/visibility:", layout="wide")
    remember_link()  # before anything reads (and tidies) the link's parameters
    language_picker()

    explore = [
        st.Page(PAGES / "self_attention.py", title=tr("page.self"), icon=":material/grid_on:", default=True,
                url_path="home"),
        st.Page(PAGES / "all_heads.py", title=tr("page.heads"), icon=":material/apps:"),
        st.Page(PAGES / "causal_attention.py", title=tr("page.causal"), icon=":material/change_history:"),
        st.Page(PAGES / "cross_attention.py", title=tr("page.cross"), icon=":material/compare_arrows:"),
        st.Page(PAGES / "corpus.py", title=tr("page.corpus"), icon=":material/dataset:"),
    ]
    explain = [
        st.Page(PAGES / "ablation.py", title=tr("page.ablation"), icon=":material/content_cut:"),
        st.Page(PAGES / "compare.py", title=tr("page.compare"), icon=":material/difference:"),
        st.Page(PAGES / "contributions.py", title=tr("page.contributions"), icon=":material/stacked_bar_chart:"),
        st.Page(PAGES / "faithfulness.py", title=tr("page.faithfulness"), icon=":material/balance:"),
        st.Page(PAGES / "routes.py", title=tr("page.routes"), icon=":material/account_tree:"),
        st.Page(PAGES / "patching.py", title=tr("page.patching"), icon=":material/healing:"),
    ]
    learn = [
        st.Page(PAGES / "learn_self_attention.py", title=tr("learn.self.page"), icon=":material/school:"),
        st.Page(PAGES / "learn_multi_head.py", title=tr("learn.multi.page"), icon=":material/view_column:"),
        st.Page(PAGES / "learn_cross_attention.py", title=tr("learn.cross.page"), icon=":material/translate:"),
        st.Page(PAGES / "learn_causal_attention.py", title=tr("learn.causal.page"), icon=":material/east:"),
        st.Page(PAGES / "learn_derivation.py", title=tr("learn.derive.page"), icon=":material/functions:"),
        st.Page(PAGES / "learn_playground.py", title=tr("learn.play.page"), icon=":material/edit_square:"),
        st.Page(PAGES / "learn_induction.py", title=tr("learn.induction.page"), icon=":material/repeat:"),
    ]
    explore.append(file_name_alias(explore[0], "self_attention"))
    sections = {tr("nav.explore"): explore, tr("nav.explain"): explain, tr("nav.learn"): learn}
    page = st.navigation(sections, expanded=True)
    with shown_errors():  # an engine error ends the page with its message, in the visitor's language
        page.run()
    report_rejected_link(tr("msg.bad_link"))


if __name__ == "__main__":
    route()
else:
    from ui.server_routes import ROUTES
    from ui.warm_up import lifespan

    declare_own_navigation()
    app = st.App(__file__, lifespan=lifespan, routes=ROUTES)
