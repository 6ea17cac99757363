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


# (file in pages/, title's key, icon) of each section's pages, in the sidebar's order; the first is the default page
SECTIONS = {
    "nav.explore": (
        ("self_attention", "page.self", "grid_on"), ("all_heads", "page.heads", "apps"),
        ("causal_attention", "page.causal", "change_history"), ("cross_attention", "page.cross", "compare_arrows"),
        ("corpus", "page.corpus", "dataset"),
    ),
    "nav.explain": (
        ("ablation", "page.ablation", "content_cut"), ("compare", "page.compare", "difference"),
        ("contributions", "page.contributions", "stacked_bar_chart"), ("faithfulness", "page.faithfulness", "balance"),
        ("routes", "page.routes", "account_tree"), ("patching", "page.patching", "healing"),
    ),
    "nav.learn": (
        ("learn_self_attention", "learn.self.page", "school"), ("learn_multi_head", "learn.multi.page", "view_column"),
        ("learn_cross_attention", "learn.cross.page", "translate"),
        ("learn_causal_attention", "learn.causal.page", "east"),
        ("learn_derivation", "learn.derive.page", "functions"), ("learn_playground", "learn.play.page", "edit_square"),
        ("learn_induction", "learn.induction.page", "repeat"),
    ),
}


def _page(file: str, title: str, icon: str, default: bool) -> st.Page:
    # the default page is served at "/"; its own path must differ from its file name, which its alias answers to
    extra = {"default": True, "url_path": "home"} if default else {}
    return st.Page(PAGES / f"{file}.py", title=tr(title), icon=f":material/{icon}:", **extra)


def route() -> None:
    st.set_page_config(page_title="attnviz", page_icon=":material/visibility:", layout="wide")
    remember_link()  # before anything reads (and tidies) the link's parameters
    language_picker()

    sections = {tr(section): [_page(*page, default=(section, i) == ("nav.explore", 0)) for i, page in enumerate(pages)]
                for section, pages in SECTIONS.items()}
    default = sections[tr("nav.explore")][0]
    sections[tr("nav.explore")].append(file_name_alias(default, "self_attention"))
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
