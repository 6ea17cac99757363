"""Every page fits a laptop and a phone: nothing overflows its box without a scrollbar that shows.

Each page is loaded once per language (English and 简体中文) at 1280 px, then checked at 1280, 1600 and 1920 px
and at 390 px by resizing the same page (maps and charts refit to their new box). An element overflows
invisibly when its content is wider than its box (``scrollWidth > clientWidth``) and the box either clips
(``overflow: hidden``) or scrolls without a scrollbar taking room. A table on a laptop must show every column
without scrolling sideways. Scrollbars are kept (Playwright hides them by default: see scripts/browser.py).
"""

from __future__ import annotations

import os

from scripts.browser import wait_idle
from tests.pages import registered_pages

PAGES = registered_pages()
DESKTOP, PHONE = (1280, 1600, 1920), 390

# Not counted: Streamlit's skip link (off screen until focused) and sidebar, and text fields (a typed line
# scrolls with its caret).
OVERFLOW_JS = r"""() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (!(el instanceof HTMLElement) || el.clientWidth === 0) continue;
      if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') continue;  // a typed line scrolls with its caret
      const over = el.scrollWidth - el.clientWidth;
      if (over <= 2) continue;
      const style = getComputedStyle(el);
      if (style.overflowX === 'visible') continue;  // it clips nothing: an ancestor that clips reports it
      const rect = el.getBoundingClientRect();
      if (rect.width < 4 || rect.height < 4 || rect.right < 0 || rect.bottom < 0) continue;
      if (el.closest('[data-testid="stSidebar"], [data-testid="stSkipToContent"]')) continue;
      const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
      const bar = el.offsetHeight - el.clientHeight - parseFloat(style.borderTopWidth)
                  - parseFloat(style.borderBottomWidth);
      const table = el.classList.contains('dvn-scroller');
      // Streamlit draws a formula's scrollbar transparent: a formula wider than its box is cut for the eye
      const formula = el.classList.contains('katex-display');
      // a scrollbar takes room but may be painted transparent (Streamlit's inherited scrollbar-color); a table's
      // own shows when touched, so a phone may scroll a wide table
      const thumb = (style.scrollbarColor || '').split(/ (?=rgb|#|[a-z])/)[0] || '';
      const painted = !/rgba\([^)]*,\s*0\)|transparent/.test(thumb);
      const phoneTable = table && window.innerWidth < 1000;
      const laptopTable = table && window.innerWidth >= 1000;  // a laptop shows a table's every column
      if (scrolls && bar > 0 && (painted || phoneTable) && !formula && !laptopTable) continue;
      const owner = el.closest('[data-testid]');
      out.push(`${owner ? owner.dataset.testid : el.tagName.toLowerCase()}`
               + `${table ? ' (table)' : ''}: ${over} px hidden`
               + ` "${(el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`);
    }
  };
  walk(document);
  return out;
}"""


def _settled_overflow(tab, tries: int = 5) -> list[str]:
    """What overflows once the page has settled: a table redraws at its new width after a debounce, so an
    overflow must still be there after a few looks, 300 ms apart, to count."""
    found = tab.evaluate(OVERFLOW_JS)
    for _ in range(tries):
        if not found:
            break
        tab.wait_for_timeout(300)
        found = tab.evaluate(OVERFLOW_JS)
    return found


def test_every_page_fits_its_box_at_every_width_in_both_languages(browser, app_url, shots_dir):
    # one tab per language, side by side: the server renders both while the browser waits once
    tabs = {lang: browser.new_context(viewport={"width": DESKTOP[0], "height": 1000}).new_page()
            for lang in ("en", "zh")}
    problems = []
    try:
        for name in PAGES:
            for lang, tab in tabs.items():
                tab.goto(f"{app_url}/{name}" + ("?lang=zh" if lang == "zh" else ""), wait_until="commit")
            for tab in tabs.values():
                wait_idle(tab)
            for width in (*DESKTOP, PHONE):
                for tab in tabs.values():
                    tab.set_viewport_size({"width": width, "height": 844 if width == PHONE else 1000})
                # Streamlit's layout, the maps' ResizeObserver and plotly's resize handler
                tabs["zh"].wait_for_timeout(400)
                for lang, tab in tabs.items():
                    problems += [f"{name} {lang} {width}px: {item}" for item in _settled_overflow(tab)]
                    if os.environ.get("ATTNVIZ_SHOTS"):
                        tab.screenshot(path=str(shots_dir / f"fit-{name}-{width}-{lang}.png"))
            for tab in tabs.values():
                tab.set_viewport_size({"width": DESKTOP[0], "height": 1000})
    finally:
        for tab in tabs.values():
            tab.context.close()
    assert not problems, "overflow without a visible scrollbar:\n" + "\n".join(problems)
