"""attnviz: a router. Each page is a thin script in pages/ that wires widgets to attnviz calls.

URL paths differ from the file names on purpose: Streamlit treats pages/ as a legacy page folder
until st.navigation has run once in the process, and a matching name would run a page without
this frame (no language switch, no navigation) for the very first visitor of a fresh server.
"""

import streamlit as st

from ui.lang import language_picker, tr

st.set_page_config(page_title="attnviz", page_icon=":material/visibility:", layout="wide")
language_picker()

explore = [
    st.Page("pages/self_attention.py", title=tr("page.self"), icon=":material/grid_on:", default=True),
    st.Page("pages/all_heads.py", title=tr("page.heads"), icon=":material/apps:", url_path="all-heads"),
    st.Page("pages/causal_attention.py", title=tr("page.causal"), icon=":material/change_history:",
            url_path="causal-attention"),
    st.Page("pages/cross_attention.py", title=tr("page.cross"), icon=":material/compare_arrows:",
            url_path="cross-attention"),
]
st.navigation({tr("nav.explore"): explore}).run()
