"""Information-flow routes at 512 tokens: from the capture to the graph drawn in Chromium.

    flock /tmp/attnviz-heavy.lock python benchmarks/routes_speed.py [--tokens 512] [--repeats 3]

For MiniLM (6 layers × 12 heads, post-LN) and a decoder (a Llama of the same size, 6 layers, 12 query
heads sharing 4 KV heads, d_model 384, random weights with query/key weights sharpened so attention is
peaked as in a trained model, a word-level tokenizer), prints, measured in this one run (median of
``--repeats``):

- capture: a plain :func:`attnviz.capture` of every layer (the reference forward pass);
- split: :func:`route_contributions` — its own forward pass recording Q, K, V and the layer boundaries,
  then the residual, MLP and LayerNorm parts of every layer;
- rows: :func:`route_graph` at the slider's floor (``FLOOR`` in ui/routes_panel.py, 0.02): the (source,
  head) shares of every row a route reaches, computed on demand, and the search from the last token;
- lens: the decoder's node lens rows (the decomposition's forward pass included);
- payload: the JSON the browser receives (its size);
- draw: ``ui/static/routes.js`` drawing that payload in headless Chromium, until the SVG is laid out;
- after the capture: split − capture + rows + lens + payload + draw (the target is ≤ 1 s);
- slider: one threshold move redrawn in the browser (floor → 0.1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = "the boy found a good book in the city and the girl bought an apple at the bridge".split()


def build_decoder(folder: Path, tokens: int) -> Path:
    import torch
    import transformers

    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    tokenizer.model_max_length = tokens + 64
    config = transformers.LlamaConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=6,
                                      num_attention_heads=12, num_key_value_heads=4,
                                      max_position_embeddings=tokens + 64, vocab_size=len(tokenizer),
                                      pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.endswith(("q_proj", "k_proj")):
                module.weight.mul_(12.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def text_of(tokens: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens))


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


DRAW_JS = """async (payload) => {
  const parent = document.getElementById('host');
  parent.innerHTML = '';
  const started = performance.now();
  window.drawRoutes({ data: payload, parentElement: parent, setStateValue: () => {}, key: 'bench' });
  parent.querySelector('svg').getBoundingClientRect();
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - started;
}"""

SLIDER_JS = """async () => {
  const slider = document.querySelector('[data-testid=avz-routes-threshold]');
  const started = performance.now();
  slider.value = 0.1; slider.dispatchEvent(new Event('input'));
  document.querySelector('#host svg').getBoundingClientRect();
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - started;
  slider.value = slider.min; slider.dispatchEvent(new Event('input'));
  return ms;
}"""


def browser_draw(page, payload: dict, repeats: int) -> tuple[float, float, int]:
    draws = [page.evaluate(DRAW_JS, payload) for _ in range(repeats)]
    slides = [page.evaluate(SLIDER_JS) for _ in range(repeats)]
    edges = page.locator("#host .avz-edge").count()
    return statistics.median(draws) / 1000, statistics.median(slides) / 1000, edges


def measure(name: str, model: str, text: str, tokens: int, repeats: int, page) -> str:
    from attnviz import capture, load_model
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.routes import lens_tops, route_contributions, route_graph
    from attnviz.figures.routes import route_payload
    from ui.routes_panel import FLOOR

    loaded = load_model(model)
    capture(loaded, text, max_tokens=tokens)  # warm up
    rows = {key: [] for key in ("capture", "split", "rows", "lens", "payload", "draw", "slider")}
    for _ in range(repeats):
        _, seconds = _timed(lambda: capture(loaded, text, max_tokens=tokens))
        rows["capture"].append(seconds)
        contributions, seconds = _timed(lambda: route_contributions(loaded, text, max_tokens=tokens))
        rows["split"].append(seconds)
        position = contributions.n_tokens - 1
        graph, seconds = _timed(lambda: route_graph(contributions, position, FLOOR))
        rows["rows"].append(seconds)

        def lens():
            if contributions.kind != "decoder":
                return {}
            return lens_tops(loaded, contributions, decompose(loaded, text, max_tokens=tokens), graph.nodes)

        tops, seconds = _timed(lens)
        rows["lens"].append(seconds)
        words = {k: k for k in ("threshold", "hint", "share", "layer", "residual", "head", "carried_by", "lens",
                                "no_lens", "mlp_node", "embeddings", "count", "node_x", "node_a", "node_m",
                                "node_i")}
        words["kinds"] = {"attention": "attention", "residual": "residual", "mlp": "MLP"}
        payload, seconds = _timed(lambda: json.loads(json.dumps({**route_payload(
            graph, tops, threshold=FLOOR, n_heads=contributions.n_heads), "words": words, "title": name})))
        rows["payload"].append(seconds)
        draw, slide, drawn_edges = browser_draw(page, payload, 1)
        rows["draw"].append(draw)
        rows["slider"].append(slide)
    m = {key: statistics.median(values) for key, values in rows.items()}
    after = m["split"] - m["capture"] + m["rows"] + m["lens"] + m["payload"] + m["draw"]
    size = len(json.dumps(payload)) / 1024
    shape = f"{contributions.n_tokens} tokens, {contributions.n_layers} layers x {contributions.n_heads} heads"
    return (f"{name}: {shape} | "
            f"capture {m['capture']:.2f} s | split {m['split']:.2f} s | rows {m['rows']:.2f} s "
            f"({len(contributions._rows)} rows of {contributions.n_layers * contributions.n_tokens}, "
            f"{len(graph.edges)} edges at {FLOOR}) | lens {m['lens']:.2f} s | payload {m['payload'] * 1000:.0f} ms "
            f"({size:.0f} KB) | draw {m['draw'] * 1000:.0f} ms ({drawn_edges} edges) | "
            f"after the capture {after:.2f} s | slider {m['slider'] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from scripts.browser import CHROMIUM, FLAGS

    js = (ROOT / "ui/static/routes.js").read_text("utf-8")
    js = js.replace("export default function", "window.drawRoutes = function")
    css = (ROOT / "ui/static/routes.css").read_text("utf-8")
    folder = build_decoder(Path(tempfile.mkdtemp(prefix="attnviz-routes-")) / "llama-6x12", args.tokens)
    text = text_of(args.tokens)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_content(f"<html><head><style>{css}</style></head><body><div id='host' style='width:1400px'></div>"
                         f"<script>{js}</script></body></html>")
        for name, model in (("minilm", "minilm"), ("decoder (Llama 6x12, d 384)", str(folder))):
            print(measure(name, model, text, args.tokens, args.repeats, page), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
