"""attnviz: a router. Each page is a thin script in pages/ that wires widgets to attnviz calls.

URL paths are the file names. A ``pages/`` folder beside this file would make Streamlit run a fresh server's
first visits in its legacy folder mode; the server declares its own navigation as it imports this file
(ui/navigation.py), so every visit, the very first one too, goes through this router. This file imports
nothing of the engine, so the navigation is drawn before a page loads torch.

`streamlit run app.py` first imports this file as a module to find its server: ``app``, an ``st.App`` whose
start-up warms the server (ui/warm_up.py) before the first visitor comes. Each visitor's run executes it as
``__main__``: the router.
"""

import streamlit as st

from ui.lang import language_picker, tr
from ui.navigation import declare_own_navigation, file_name_alias
from ui.url_state import remember_link, report_rejected_link


def route() -> None:
    st.set_page_config(page_title="attnviz", page_icon=":material/visibility:", layout="wide")
    remember_link()  # before anything reads (and tidies) the link's parameters
    language_picker()

    explore = [
        st.Page("pages/self_attention.py", title=tr("page.self"), icon=":material/grid_on:", default=True,
                url_path="home"),
        st.Page("pages/all_heads.py", title=tr("page.heads"), icon=":material/apps:"),
        st.Page("pages/causal_attention.py", title=tr("page.causal"), icon=":material/change_history:"),
        st.Page("pages/cross_attention.py", title=tr("page.cross"), icon=":material/compare_arrows:"),
        st.Page("pages/corpus.py", title=tr("page.corpus"), icon=":material/dataset:"),
    ]
    explain = [
        st.Page("pages/ablation.py", title=tr("page.ablation"), icon=":material/content_cut:"),
        st.Page("pages/compare.py", title=tr("page.compare"), icon=":material/difference:"),
        st.Page("pages/contributions.py", title=tr("page.contributions"), icon=":material/stacked_bar_chart:"),
        st.Page("pages/faithfulness.py", title=tr("page.faithfulness"), icon=":material/balance:"),
        st.Page("pages/routes.py", title=tr("page.routes"), icon=":material/account_tree:"),
        st.Page("pages/patching.py", title=tr("page.patching"), icon=":material/healing:"),
    ]
    learn = [
        st.Page("pages/learn_self_attention.py", title=tr("learn.self.page"), icon=":material/school:"),
        st.Page("pages/learn_multi_head.py", title=tr("learn.multi.page"), icon=":material/view_column:"),
        st.Page("pages/learn_cross_attention.py", title=tr("learn.cross.page"), icon=":material/translate:"),
        st.Page("pages/learn_causal_attention.py", title=tr("learn.causal.page"), icon=":material/east:"),
        st.Page("pages/learn_derivation.py", title=tr("learn.derive.page"), icon=":material/functions:"),
        st.Page("pages/learn_playground.py", title=tr("learn.play.page"), icon=":material/edit_square:"),
        st.Page("pages/learn_induction.py", title=tr("learn.induction.page"), icon=":material/repeat:"),
    ]
    explore.append(file_name_alias(explore[0], "self_attention"))
    sections = {tr("nav.explore"): explore, tr("nav.explain"): explain, tr("nav.learn"): learn}
    st.navigation(sections, expanded=True).run()
    report_rejected_link(tr("msg.bad_link"))


if __name__ == "__main__":
    route()
else:
    from ui.server_routes import ROUTES
    from ui.warm_up import lifespan

    declare_own_navigation()
    app = st.App(__file__, lifespan=lifespan, routes=ROUTES)
