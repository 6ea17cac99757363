// Information-flow routes drawn in the browser from the graph at the slider's lowest threshold
// (attnviz/figures/routes.py route_payload). Moving the threshold prunes and searches again here; clicking an
// edge lists the heads that carry it, clicking a node shows its logit-lens row. The threshold reaches the
// server a moment later (for the URL and the server's exports); clicks never leave the browser.

const STATES = new Map(); // component key -> { threshold, sent }
const SEND_DELAY_MS = 400;
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}

function parseNode(name) {
  const stage = name[0];
  const [layer, position] = name.slice(1).split("_").map(Number);
  return { stage, layer: stage === "X" ? -1 : layer, position };
}

// The edges above `threshold` on a path into `output`: a search backwards, as on the server.
function routes(edges, output, threshold) {
  const into = new Map();
  for (const e of edges) {
    if (e[4] <= threshold) continue;
    if (!into.has(e[1])) into.set(e[1], []);
    into.get(e[1]).push(e);
  }
  const seen = new Set([output]), stack = [output], kept = [];
  while (stack.length) {
    const node = stack.pop();
    for (const e of into.get(node) || []) {
      kept.push(e);
      if (!seen.has(e[0])) { seen.add(e[0]); stack.push(e[0]); }
    }
  }
  return { edges: kept, nodes: seen };
}

function download(name, blob) {
  const link = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}

function csvCell(value) {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  if (!data) return;
  const p = typeof data === "string" ? JSON.parse(data) : data;
  const w = p.words;
  const memo = STATES.get(key) || {};
  // The server echoes what this graph last sent; anything else (a link, a new text) is a new start.
  const threshold0 = memo.threshold !== undefined && memo.sent === p.threshold && memo.title === p.title
    ? memo.threshold : p.threshold;
  const state = { threshold: Math.max(p.floor, threshold0), selected: null, timer: null };
  STATES.set(key, { threshold: state.threshold, sent: memo.sent ?? p.threshold, title: p.title });

  parentElement.querySelectorAll(".avz-routes").forEach((node) => node.remove());
  const root = el("div", { class: "avz-routes", "data-testid": "avz-routes" });
  const bar = el("div", { class: "avz-rbar" });
  const plot = el("div", { class: "avz-rplot" });
  const side = el("div", { class: "avz-rinfo", "data-testid": "avz-routes-info" }, w.hint);
  const note = el("div", { class: "avz-rnote" });
  const body = el("div", { class: "avz-rbody" });
  body.append(plot, side);
  root.append(el("div", { class: "avz-rtitle" }, p.title), bar, body, note);
  parentElement.append(root);

  // controls: the threshold and the exports
  const label = el("label", { class: "avz-rthreshold" });
  const slider = el("input", { type: "range", min: p.floor, max: 0.5, step: 0.005, value: state.threshold,
                               "data-testid": "avz-routes-threshold", "aria-label": w.threshold });
  const value = el("span", { class: "avz-rvalue" }, state.threshold.toFixed(3));
  label.append(el("span", {}, w.threshold), slider, value);
  bar.append(label);
  const exports = el("span", { class: "avz-rexports" });
  for (const kind of ["svg", "png", "csv", "json"]) {
    const button = el("button", { type: "button", "data-testid": `avz-routes-${kind}` }, kind.toUpperCase());
    button.addEventListener("click", () => exportAs(kind));
    exports.append(button);
  }
  bar.append(exports);

  const output = `I${p.n_layers - 1}_${p.position}`;
  const floorGraph = routes(p.edges, output, p.floor);
  const positions = [...new Set([...floorGraph.nodes].map((n) => parseNode(n).position))].sort((a, b) => a - b);
  const column = new Map(positions.map((pos, i) => [pos, i]));
  // the root's width (the component's host has none of its own); the info panel sits beside the graph on a laptop
  // and under it on a phone (routes.css)
  const box = root.clientWidth || 1000;
  const room = box >= 700 ? Math.max(480, box - 300) : box;
  const colW = Math.max(34, Math.min(90, (room - 110) / Math.max(1, positions.length)));
  const rowH = Math.max(26, Math.min(46, 560 / (2 * p.n_layers + 1)));
  const left = 96, top = 20, bottom = 96;
  const width = Math.ceil(left + colW * positions.length + 20);
  const height = Math.ceil(top + rowH * 2 * p.n_layers + bottom);
  const xy = (name) => {
    const n = parseNode(name);
    const x = left + colW * (column.get(n.position) + 0.5) + (n.stage === "M" ? colW * p.mlp_offset : 0);
    const level = n.stage === "X" ? 0 : n.stage === "M" ? 2 * n.layer + 1.5 : 2 * n.layer + (n.stage === "A" ? 1 : 2);
    return [x, top + rowH * (2 * p.n_layers - level)];
  };

  function describe(name) {
    const n = parseNode(name), token = p.tokens[n.position];
    if (n.stage === "X") return fmt(w.node_x, { token, position: n.position });
    if (n.stage === "A") return fmt(w.node_a, { token, position: n.position, layer: n.layer });
    if (n.stage === "M") return fmt(w.node_m, { token, position: n.position, layer: n.layer });
    return fmt(w.node_i, { token, position: n.position, layer: n.layer });
  }

  function showEdge(e) {
    side.textContent = "";
    side.append(el("div", { class: "avz-rhead" }, `${describe(e[0])} → ${describe(e[1])}`),
                el("div", {}, `${w.share}: ${e[4].toFixed(4)} (${w.kinds[e[2]]}, ${w.layer} ${e[3]})`));
    if (e[2] !== "attention") return;
    const list = el("table", { class: "avz-rheads", "data-testid": "avz-routes-heads" });
    if (e[5] > 0) list.append(rowOf(w.residual, e[5]));
    for (const [h, s] of [...e[6]].sort((a, b) => b[1] - a[1])) list.append(rowOf(`${w.head} ${h}`, s));
    side.append(el("div", { class: "avz-rsub" }, w.carried_by), list);
  }

  function rowOf(name, share) {
    const tr = el("tr");
    const bar = el("span", { class: "avz-rbar-fill", style: `width:${Math.round(share * 100)}px` });
    const cell = el("td");
    cell.append(bar);
    tr.append(el("td", {}, name), el("td", { class: "num" }, share.toFixed(4)), cell);
    return tr;
  }

  function showNode(name) {
    side.textContent = "";
    side.append(el("div", { class: "avz-rhead" }, describe(name)));
    const top = p.lens[name];
    if (top) {
      side.append(el("div", { class: "avz-rsub" }, w.lens));
      const table = el("table", { class: "avz-rheads", "data-testid": "avz-routes-lens" });
      for (const [word, prob] of top) table.append(rowOf(word, prob));
      side.append(table);
    } else {
      side.append(el("div", { class: "avz-rsub" }, parseNode(name).stage === "M" ? w.mlp_node : w.no_lens));
    }
  }

  let shown = { edges: [], nodes: new Set() };
  const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, xmlns: SVG_NS,
                               "font-family": "Noto Sans, Noto Sans CJK SC, sans-serif" });
  plot.append(picture);

  function render() {
    shown = routes(p.edges, output, state.threshold);
    picture.textContent = "";
    picture.append(svg("rect", { x: 0, y: 0, width, height, fill: "#fff" }));
    // layer rows and token columns
    for (let level = 0; level <= 2 * p.n_layers; level += 2) {
      const y = top + rowH * (2 * p.n_layers - level);
      picture.append(svg("line", { x1: left - 6, x2: width - 10, y1: y, y2: y, stroke: "#eee" }));
      picture.append(svg("text", { x: left - 10, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#555" },
        level === 0 ? w.embeddings : `${w.layer} ${level / 2 - 1}`));
    }
    const labelEvery = Math.max(1, Math.ceil(14 / colW));
    positions.forEach((pos, i) => {
      if (i % labelEvery && pos !== p.position) return;
      const x = left + colW * (i + 0.5), y = top + rowH * 2 * p.n_layers + 14;
      const text = p.tokens[pos].length > 12 ? p.tokens[pos].slice(0, 11) + "…" : p.tokens[pos];
      picture.append(svg("text", { x, y, transform: `rotate(-45 ${x} ${y})`, "text-anchor": "end", "font-size": 11,
                                   fill: pos === p.position ? "#d62728" : "#333" }, text));
    });
    const lines = svg("g"), hits = svg("g"), dots = svg("g");
    for (const e of shown.edges) {
      const [x1, y1] = xy(e[0]), [x2, y2] = xy(e[1]);
      const strength = Math.min(1, e[4]);
      lines.append(svg("line", { x1, y1, x2, y2, stroke: p.colours[e[2]], "stroke-width": 0.8 + 6 * strength,
                                 "stroke-opacity": 0.25 + 0.7 * strength, "stroke-linecap": "round" }));
      const hit = svg("line", { x1, y1, x2, y2, stroke: "transparent", "stroke-width": 9, class: "avz-edge",
                                "data-source": e[0], "data-target": e[1], "data-weight": e[4] });
      hit.addEventListener("click", () => { state.selected = hit; showEdge(e); });
      hit.append(svg("title", {}, `${e[0]} → ${e[1]}: ${e[4].toFixed(3)}`));
      hits.append(hit);
    }
    for (const name of shown.nodes) {
      const [x, y] = xy(name);
      const isOutput = name === output, mlp = name[0] === "M";
      const dot = mlp ? svg("rect", { x: x - 4, y: y - 4, width: 8, height: 8, fill: "#ff7f0e" })
        : svg("circle", { cx: x, cy: y, r: isOutput ? 7 : 5, fill: isOutput ? "#d62728" : "#262730" });
      dot.setAttribute("class", "avz-node");
      dot.setAttribute("data-node", name);
      dot.append(svg("title", {}, describe(name)));
      dot.addEventListener("click", () => showNode(name));
      dots.append(dot);
    }
    picture.append(lines, hits, dots);
    note.textContent = fmt(w.count, { edges: shown.edges.length, nodes: shown.nodes.size });
  }

  function report() {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      const memoNow = STATES.get(key) || {};
      STATES.set(key, { ...memoNow, threshold: state.threshold, sent: state.threshold });
      setStateValue("threshold", state.threshold);
    }, SEND_DELAY_MS);
  }

  slider.addEventListener("input", () => {
    state.threshold = Number(slider.value);
    value.textContent = state.threshold.toFixed(3);
    STATES.set(key, { ...(STATES.get(key) || {}), threshold: state.threshold });
    render();
    report();
  });

  function rows() {
    return shown.edges.map((e) => ({ source: e[0], target: e[1], kind: e[2], layer: e[3], weight: e[4],
      residual: e[5], source_token: p.tokens[parseNode(e[0]).position],
      target_token: p.tokens[parseNode(e[1]).position], heads: e[6].map(([head, share]) => ({ head, share })) }));
  }

  function exportAs(kind) {
    const base = `routes-${p.position}-t${state.threshold.toFixed(3)}`;
    if (kind === "json") {
      download(`${base}.json`, new Blob([JSON.stringify({ tokens: p.tokens, position: p.position,
        threshold: state.threshold, edges: rows() }, null, 1)], { type: "application/json" }));
    } else if (kind === "csv") {
      const head = "source,target,kind,layer,source_token,target_token,weight,residual,heads\n";
      const body = rows().map((r) => [r.source, r.target, r.kind, r.layer, r.source_token, r.target_token, r.weight,
        r.residual, r.heads.map((h) => `${h.head}:${h.share}`).join(" ")].map(csvCell).join(",")).join("\n");
      download(`${base}.csv`, new Blob([head + body + "\n"], { type: "text/csv" }));
    } else {
      const text = new XMLSerializer().serializeToString(picture);
      const blob = new Blob([text], { type: "image/svg+xml" });
      if (kind === "svg") { download(`${base}.svg`, blob); return; }
      const image = new Image();
      const url = URL.createObjectURL(blob);
      image.onload = () => {
        const canvas = el("canvas", { width: width * 2, height: height * 2 });
        const ctx = canvas.getContext("2d");
        ctx.scale(2, 2);
        ctx.drawImage(image, 0, 0);
        URL.revokeObjectURL(url);
        canvas.toBlob((png) => download(`${base}.png`, png), "image/png");
      };
      image.src = url;
    }
  }

  render();
  // A long text's graph is wider than its box: scroll so the chosen token (the red node) is in view on the first
  // draw, with the tokens just before it, which its routes come from
  requestAnimationFrame(() => {
    const [x] = xy(output);
    if (x > plot.clientWidth - 40) plot.scrollLeft = x - plot.clientWidth + 60;
  });
}
