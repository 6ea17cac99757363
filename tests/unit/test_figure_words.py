"""Every figure gets its words one way: ``words: FigureWords``, read from the interface's tables (ui/i18n)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from attnviz import capture
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.figures.words import FigureWords, figure_words
from attnviz.words import tables, word

ROOT = Path(__file__).resolve().parents[2]
FIGURES = sorted((ROOT / "attnviz" / "figures").glob("*.py"))
# a parameter named like this carries words for people, which come in ``words`` alone
WORDISH = re.compile(r"_(label|word|words)$")


def _functions() -> dict[str, object]:
    """Every public function of attnviz/figures, by ``module.name``."""
    found = {}
    for path in FIGURES:
        module = importlib.import_module(f"attnviz.figures.{path.stem}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{path.stem}.{name}"] = function
    return found


def test_a_figure_takes_its_words_as_one_keyword_without_default():
    for name, function in _functions().items():
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name == "words":
                assert parameter.annotation in ("FigureWords", FigureWords), name
                assert parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD), name
                assert parameter.default is parameter.empty, f"{name}: English is no default, the caller chooses"
            else:
                assert not WORDISH.search(parameter.name), f"{name}({parameter.name}): pass words in ``words``"


def test_the_figures_hold_no_words_of_the_tables():
    """No text of the tables written again in attnviz/figures (a phrase; single words there are data names)."""
    english = {entry["en"] for entry in tables().values() if " " in entry["en"]}
    for path in FIGURES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in english, (path.name, node.lineno, node.value)


class _Keys(FigureWords):
    """Words that show their own keys (``⟦hover.weight⟧``), after checking the tables have the key."""

    def __getitem__(self, key: str) -> str:
        word(key, self.lang)
        return f"⟦{key}⟧"

    def format(self, key: str, /, **values: object) -> str:
        word(key, self.lang, **values)
        return f"⟦{key}⟧"


def _texts(figure) -> list[str]:
    """What a reader sees besides the numbers: titles, axis and colour-bar titles, legends, hover templates, notes,
    a bar chart's categories."""
    spec = figure.to_plotly_json()
    found = []

    def title(value):
        found.append(value.get("text", "") if isinstance(value, dict) else value or "")

    layout = spec["layout"]
    title(layout.get("title"))
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            title(value.get("title"))
        if key == "coloraxis":
            title(value.get("colorbar", {}).get("title"))
    found += [a.get("text", "") for a in layout.get("annotations", [])]
    for trace in spec["data"]:
        found += [trace.get("name") or "", trace.get("hovertemplate") or ""]
        if trace["type"] in ("bar", "heatmap"):
            found += [v for axis in ("x", "y") for v in trace.get(axis, []) if isinstance(v, str)]
        title(trace.get("colorbar", {}).get("title"))
    return found


def _own_words(figure) -> set[str]:
    """Latin words a figure shows outside its data, ``%{placeholders}``, HTML tags, the symbol d_model and
    looked-up ``⟦keys⟧``."""
    found = set()
    for text in _texts(figure):
        text = re.sub(r"⟦[^⟧]*⟧|%\{[^}]*\}|<[^>]*>|\bd_model\b", " ", text)
        found |= set(re.findall(r"[A-Za-z]{2,}", text))
    return found


@pytest.fixture(scope="module")
def builders(toy_lm, toy_translator):
    """Each figure that shows words, drawn from real results with ``words``."""
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.lens import logit_lens
    from attnviz.contributions.logits import direct_logit_attribution
    from attnviz.contributions.routes import route_contributions, route_graph
    from attnviz.explain.ablation import TokenChance
    from attnviz.figures import contributions, explain, faithfulness, grid, heatmap, matrix, patching, routes

    text = "the farmer saw the bridge near the city"
    result = capture(toy_lm, text)
    translation = capture(toy_translator, "the train left the station", target="火车 驶出 车站")
    decomposition = decompose(toy_lm, text)
    attribution = direct_logit_attribution(toy_lm, decomposition, None, None, -1)
    chances = [TokenChance("城市", 0.5), TokenChance("车站", 0.2)]
    scores = np.arange(8, dtype=float).reshape(2, 4) / 10
    mean = build_view(result, "decoder", 1, [0, 2], "mean", ViewOptions())
    return {
        "heatmap.attention_heatmap": lambda w: heatmap.attention_heatmap(mean, words=w),
        "heatmap.axis_titles": None, "heatmap.view_title": None,  # parts of attention_heatmap
        "grid.head_grid": lambda w: grid.head_grid(
            [[build_view(translation, "cross", 0, [h]) for h in range(2)]], words=w),
        "contributions.attribution_map": lambda w: contributions.attribution_map(attribution, words=w),
        "contributions.parts_figure": lambda w: contributions.parts_figure(attribution, words=w),
        "contributions.lens_figure": lambda w: contributions.lens_figure(logit_lens(toy_lm, decomposition, 3),
                                                                         words=w),
        "explain.importance_figure": lambda w: explain.importance_figure(scores, words=w),
        "explain.chances_figure": lambda w: explain.chances_figure(chances, chances[::-1], words=w),
        "patching.patching_map": lambda w: patching.patching_map(scores, ["0", "1"], list("0123"),
                                                                 axes=("layer", "head"), words=w),
        "patching.axis_words": None,  # part of patching_map
        "faithfulness.method_strip": lambda w: faithfulness.method_strip(scores, ["attention", "rollout"],
                                                                         ["火车", "车站", "城市", "大桥"], words=w),
        "matrix.head_split_figure": lambda w: matrix.head_split_figure(384, 12, words=w),
        "routes.route_figure": lambda w: routes.route_figure(
            route_graph(route_contributions(toy_lm, text), 5, 0.04), words=w),
    }


def test_every_figure_with_words_is_drawn_here(builders):
    with_words = {name for name, function in _functions().items()
                  if "words" in inspect.signature(function).parameters}
    assert with_words == set(builders)


def test_every_word_a_figure_shows_comes_from_its_words(builders):
    model_names = {"toy", "lm"}  # a heatmap's title names the model
    for name, build in builders.items():
        if build is None:
            continue
        figure = build(_Keys("en"))
        assert any("⟦" in text for text in _texts(figure)), name  # it does show words
        assert _own_words(figure) <= model_names, (name, _own_words(figure) - model_names)


def test_a_chinese_figure_shows_the_chinese_table(builders):
    figure = builders["contributions.lens_figure"](figure_words("zh"))
    assert figure.layout.yaxis.title.text == tables()["ctl.layer"]["zh"]
    assert figure.layout.xaxis2.title.text == tables()["contrib.final_prediction"]["zh"]
    assert figure_words("fr") == figure_words("en")  # a language without tables reads English


def test_the_tables_the_engine_reads_are_the_interfaces():
    from ui.i18n import STRINGS

    assert tables() == STRINGS
