"""attnviz: a router. Each page is a thin script in pages/ that wires widgets to attnviz calls.

URL paths differ from the file names on purpose: Streamlit treats pages/ as a legacy page folder
until st.navigation has run once in the process, and a matching name would run a page without
this frame (no language switch, no navigation) for the very first visitor of a fresh server.
"""

import streamlit as st

from ui.lang import language_picker, tr
from ui.url_state import remember_link, report_rejected_link

st.set_page_config(page_title="attnviz", page_icon=":material/visibility:", layout="wide")
remember_link()  # before anything reads (and tidies) the link's parameters
language_picker()

explore = [
    st.Page("pages/self_attention.py", title=tr("page.self"), icon=":material/grid_on:", default=True),
    st.Page("pages/all_heads.py", title=tr("page.heads"), icon=":material/apps:", url_path="all-heads"),
    st.Page("pages/causal_attention.py", title=tr("page.causal"), icon=":material/change_history:",
            url_path="causal-attention"),
    st.Page("pages/cross_attention.py", title=tr("page.cross"), icon=":material/compare_arrows:",
            url_path="cross-attention"),
]
learn = [
    st.Page("pages/learn_self_attention.py", title=tr("learn.self.page"), icon=":material/school:",
            url_path="learn-self-attention"),
    st.Page("pages/learn_multi_head.py", title=tr("learn.multi.page"), icon=":material/view_column:",
            url_path="learn-multi-head"),
    st.Page("pages/learn_cross_attention.py", title=tr("learn.cross.page"), icon=":material/translate:",
            url_path="learn-cross-attention"),
    st.Page("pages/learn_causal_attention.py", title=tr("learn.causal.page"), icon=":material/east:",
            url_path="learn-causal-attention"),
    st.Page("pages/learn_derivation.py", title=tr("learn.derive.page"), icon=":material/functions:",
            url_path="learn-derivation"),
    st.Page("pages/learn_playground.py", title=tr("learn.play.page"), icon=":material/edit_square:",
            url_path="learn-playground"),
    st.Page("pages/learn_induction.py", title=tr("learn.induction.page"), icon=":material/repeat:",
            url_path="learn-induction"),
]
st.navigation({tr("nav.explore"): explore, tr("nav.learn"): learn}).run()
report_rejected_link(tr("msg.bad_link"))
