"""Every page in 简体中文 shows no English outside model names, token names and a short list of unavoidable terms.

The page is rendered with AppTest in Chinese; every text a visitor reads is collected (titles, prose, captions,
messages, widget labels, options and tooltips, table headers, figure titles, axis titles, legends and hover
templates, and the words the browser map shows), and every Latin word outside the allow-list is reported,
page by page, so a failure names what to translate.
"""

from __future__ import annotations

import json
import re

import pytest

from attnviz.explain.compare import ANIMAL_PAIR
from attnviz.patching.presets import PRESETS
from tests.app.conftest import _app
from tests.pages import registered_pages
from tests.payload import decode

PAGES = registered_pages()

# Names a Chinese page keeps: models and families, file formats, maths symbols, method names a student will
# search for in English, and the special tokens' own spelling.
ALLOWED = {
    # models, libraries and families
    "minilm", "all-minilm-l6-v2", "toy-lm", "toy-translator", "toy-induction", "bert", "gpt", "gpt-2", "llama",
    "transformerlens", "hugging", "face", "hub", "kv", "attnviz", "transformer", "transformers", "pytorch",
    "t5", "bart", "marian", "roberta", "distilbert", "encoder", "decoder",
    # file formats and units
    "png", "svg", "pdf", "csv", "json", "npz", "mb", "ms",
    # maths and the notation the formulas use
    "softmax", "qk", "d_model", "d_k", "w_q", "w_k", "w_v", "w_o", "b_o", "ln", "exp", "log", "max", "concat",
    "kl", "top", "argmax", "rms", "layernorm", "norm", "mlp", "attn", "cls", "sep", "unk", "pad", "eos", "bos",
    "rollout", "flow", "logit", "lens", "ig", "shap", "lime", "id", "ids", "q", "k", "v", "x", "w", "m", "b", "h",
    "l", "d", "i", "j", "n", "p", "s", "t", "e", "a", "vs", "api", "url", "mathrm", "frac", "sqrt", "top-k",
    "pca", "ray", "llm", "spearman", "captum", "numpy", "cpu", "gpu",
    # the names inside the lessons' formulas and LaTeX's environments
    "attention", "crossattention", "multihead", "head", "gathered", "cases",
    # authors of the methods a page cites, and a cited tool's name
    "abnar", "zuidema", "jain", "wallace", "wiegreffe", "pinter", "kobayashi", "ferrando", "voita", "wang", "meng",
    "nanda", "kram", "pearson", "r",
    "transparency", "tool",
    # the language switch: each language in its own words, its label in both ("语言 / Language")
    "english", "language",
}
# The inputs a page opens on (their words are token names on the page), and the toy models' vocabularies.
TEXTS = " ".join([*ANIMAL_PAIR, "The train left the station on time", "life", "the farmer",
                  "farmer bridge apple doctor city book girl", "the cat sat on the mat",
                  *(text for preset in PRESETS.values() for text in (preset.clean, preset.corrupt))])
_LATIN = re.compile(r"(?<![0-9.])[A-Za-z][A-Za-z0-9_'\-]*")
# not prose: plotly placeholders, HTML tags and entities, maths, code (token names are shown as code), links,
# LaTeX commands, Streamlit's colour and badge markup, markdown escapes
_PLACEHOLDER = re.compile(r"%\{[^}]*\}|\{[a-z_]+\}|<[^>]+>|&[a-z]+;|(?<!\$)\$[^$\n]+\$(?!\$)|`[^`]*`|https?://\S+|"
                          r"\\[a-zA-Z]+|:[a-z]+(?:-badge)?\[")
_MATHS = re.compile(r"[a-z]+_[a-z0-9]+|[lh]\d+|v\d+|\d.*")  # q_i, w_o, L3, H11, v[0]


def _toy_words() -> set[str]:
    from ui.cached import cached_model

    words = set()
    for name in ("toy-lm", "toy-translator", "toy-induction"):
        words |= {w.lower() for w in cached_model(name).tokenizer.get_vocab()}
    return words


def _figure_texts(spec: dict) -> list[str]:
    texts = []
    layout = spec.get("layout", {})

    def title(node):
        value = node.get("title") if isinstance(node, dict) else None
        return value.get("text", "") if isinstance(value, dict) else value or ""

    texts.append(title(layout))
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            texts.append(title(axis))
    for annotation in layout.get("annotations", []):
        texts.append(annotation.get("text", ""))
    for trace in spec.get("data", []):
        texts += [str(trace.get("name") or ""), str(trace.get("hovertemplate") or "")]
        bar = trace.get("colorbar")
        if isinstance(bar, dict):
            texts.append(title(bar))
    return texts


def page_texts(at) -> list[str]:
    """Everything a visitor of the rendered page reads as text."""
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error",
                 "metric", "button", "download_button", "selectbox", "multiselect", "radio", "checkbox", "toggle",
                 "text_input", "text_area", "number_input", "slider", "select_slider", "expander", "tabs",
                 "pills", "segmented_control", "toast"):
        for element in at.get(kind):
            proto = element.proto
            for field in ("body", "label", "help", "placeholder"):
                texts.append(str(getattr(proto, field, "") or ""))
            for option in getattr(proto, "options", []) or []:  # as shown: formatted labels
                texts.append(option if isinstance(option, str) else str(getattr(option, "content", "")))
    texts += [element.proto.body.strip("$") for element in at.get("latex")]  # formulas: their words, not their commands
    for frame in at.get("arrow_data_frame"):
        texts += [str(c) for c in frame.value.columns]
    for chart in at.get("plotly_chart"):
        texts += _figure_texts(json.loads(chart.proto.spec))
    for component in at.get("bidi_component"):
        try:
            meta = decode(component.proto.bytes)[0]
        except Exception:  # noqa: BLE001 - another component
            continue
        texts += list(_values(meta.get("words", {})))
    return texts


def _values(node):
    """The strings of a nested dict or list (its values, not its keys)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _values(value)
    elif isinstance(node, str):
        yield node


def english_words(texts: list[str], allowed: set[str]) -> list[str]:
    found = []
    for text in texts:
        for word in _LATIN.findall(_PLACEHOLDER.sub(" ", text).replace("\\", "")):
            core = word.strip("'-_").lower()
            if core and core not in allowed and not _MATHS.fullmatch(core):
                found.append(word)
    return sorted(set(found))


def _model_and_scale_names() -> set[str]:
    """Model ids a picker offers (built in and from the hub) and the colour scales' names."""
    from attnviz.models.registry import BUILTIN_MODELS
    from ui.cached import visitor_settings
    from ui.live_map import COLORSCALES

    names = [*BUILTIN_MODELS, *visitor_settings().models, *COLORSCALES]
    return {w.lower() for name in names for w in _LATIN.findall(name.replace("/", " "))}


@pytest.fixture(scope="module")
def allowed() -> set[str]:
    return ALLOWED | {w.lower() for w in _LATIN.findall(TEXTS)} | _toy_words() | _model_and_scale_names()


@pytest.mark.parametrize("page", PAGES)
def test_no_english_on_a_chinese_page(page, allowed):
    at = _app(f"pages/{page}.py")
    at.session_state["ui_lang"] = "zh"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    words = english_words(page_texts(at), allowed)
    assert not words, f"{page}: English left on the Chinese page: {words}"
