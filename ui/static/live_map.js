// Attention heatmaps drawn in the browser from a compact binary payload (attnviz/figures/live.py).
// Layer, head, mode and look (colours, values, 0–1 range, rescaled rows) switches redraw here at once; the
// choice reaches the server a moment later (for the page's facts, exports and the URL), or at once when the
// payload lacks a (layer, head) map the choice needs.

const STATES = new Map(); // component key -> the visitor's current choice, kept across reruns
// A click (head, mode, look) is sent at once, so the page's side panels follow the map within ~0.1 s; a slider
// dragged or an arrow key held is sent once it rests this long (each send reruns the page on the server).
const SEND_DELAY_MS = 80;

function parse(bytes) {
  const head = new TextDecoder().decode(bytes.subarray(0, 4));
  if (head !== "AVZ1") throw new Error("not an attention payload");
  const length = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const cells = meta.shape.reduce((a, b) => a * b, 1);
  const [R, C] = meta.shape.slice(-2);
  const start = 8 + length;
  const raw = bytes.subarray(start, start + 2 * cells);
  // a Uint16Array needs an even byte offset: copy only when the message sits oddly in its buffer
  const weights = (bytes.byteOffset + start) % 2 === 0
    ? new Uint16Array(raw.buffer, raw.byteOffset, cells)
    : new Uint16Array(raw.slice().buffer);
  const masked = bytes.subarray(start + 2 * cells, start + 2 * cells + R * C);
  // the map's payload holds (layer, head) maps in a list; the grid's, every layer × head
  const index = new Map((meta.maps || []).map(([l, h], i) => [`${l},${h}`, i]));
  return { meta, weights, masked, index };
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function sameView(a, b) {
  return a && b && a.layer === b.layer && a.head === b.head && a.mode === b.mode &&
    JSON.stringify(a.heads) === JSON.stringify(b.heads) && JSON.stringify(a.zoom) === JSON.stringify(b.zoom) &&
    a.colorscale === b.colorscale && a.values === b.values && a.fixed === b.fixed && a.renorm === b.renorm &&
    a.hide === b.hide;
}

// One [row, col] map from the payload: a head, or the mean / max of several heads, rows renormalised if asked.
function combine(payload, view) {
  const { meta, weights, masked, index } = payload;
  const [, R, C] = meta.shape;
  const wanted = view.mode === "single" ? [view.head] : view.heads;
  const hs = wanted.map((h) => index.get(`${view.layer},${h}`));
  if (hs.some((h) => h === undefined) || hs.length === 0) return null;
  const n = R * C;
  const out = new Float32Array(n);
  for (let k = 0; k < hs.length; k++) {
    const base = hs[k] * n;
    if (view.mode === "max") {
      for (let i = 0; i < n; i++) { const v = weights[base + i]; if (v > out[i]) out[i] = v; }
    } else {
      for (let i = 0; i < n; i++) out[i] += weights[base + i];
    }
  }
  const scale = view.mode === "max" ? 1 / 65535 : 1 / (65535 * hs.length);
  for (let i = 0; i < n; i++) out[i] *= scale;
  return out;
}

// What the map shows of a combined matrix: special tokens' rows and columns left out when asked (a payload
// of every token lists them), rows rescaled over the cells left when asked.
function visible(payload, full, view) {
  const { meta, masked } = payload;
  const [, R, C] = meta.shape;
  const hide = meta.specials ? view.hide : meta.hidden;
  let rowIndex = [...Array(R).keys()], colIndex = [...Array(C).keys()];
  if (meta.specials && view.hide) {
    const skipRows = new Set(meta.specials.rows), skipCols = new Set(meta.specials.cols);
    rowIndex = rowIndex.filter((r) => !skipRows.has(r));
    colIndex = colIndex.filter((c) => !skipCols.has(c));
  }
  const rows = rowIndex.length, cols = colIndex.length;
  let matrix = full, shownMask = masked;
  if (rows !== R || cols !== C) {
    matrix = new Float32Array(rows * cols); shownMask = new Uint8Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      matrix[r * cols + c] = full[rowIndex[r] * C + colIndex[c]];
      shownMask[r * cols + c] = masked[rowIndex[r] * C + colIndex[c]];
    }
  }
  if (view.renorm && hide) {
    if (matrix === full) matrix = Float32Array.from(full);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) if (!shownMask[r * cols + c]) s += matrix[r * cols + c];
      if (s > 0) for (let c = 0; c < cols; c++) matrix[r * cols + c] /= s;
    }
  }
  return { matrix, masked: shownMask, R: rows, C: cols, canRenorm: hide,
           rows: rowIndex.map((r) => meta.rows[r]), cols: colIndex.map((c) => meta.cols[c]) };
}

function parseRgb(text) {
  if (text.startsWith("#")) return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16));
  const m = text.match(/(\d+(?:\.\d+)?)[,\s]+(\d+(?:\.\d+)?)[,\s]+(\d+(?:\.\d+)?)/);
  return m ? [Math.round(+m[1]), Math.round(+m[2]), Math.round(+m[3])] : [0, 0, 0];
}

function labelEvery(n, room) { return Math.max(1, Math.ceil(n / room)); }

const LUTS = new Map(); // colour scale -> its 256 colours as [r, g, b]
function lutOf(meta, name) {
  const key = `${name}:${meta.colorscales[name][0]}:${meta.colorscales[name][255]}`;
  if (!LUTS.has(key)) LUTS.set(key, meta.colorscales[name].map(parseRgb));
  return LUTS.get(key);
}

function drawMap(ctx, meta, shown, view, crop, geometry, rowCtx, barCtx) {
  const { matrix, masked, C } = shown;
  const { r0, r1, c0, c1 } = crop;
  const rows = r1 - r0, cols = c1 - c0;
  const g = geometry;
  const lut = lutOf(meta, meta.colorscales[view.colorscale] ? view.colorscale : "Blues");
  const maskRgb = parseRgb(meta.masked_colour);
  let zmax = 0;
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) {
    const i = r * C + c;
    if (!masked[i] && matrix[i] > zmax) zmax = matrix[i];
  }
  if (view.fixed || zmax <= 0) zmax = 1;
  g.zmax = zmax;
  const image = new ImageData(cols, rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const i = (r + r0) * C + (c + c0), o = 4 * (r * cols + c);
    const rgb = masked[i] ? maskRgb : lut[Math.min(255, Math.round((matrix[i] / zmax) * 255))];
    image.data[o] = rgb[0]; image.data[o + 1] = rgb[1]; image.data[o + 2] = rgb[2]; image.data[o + 3] = 255;
  }
  const tile = document.createElement("canvas");
  tile.width = cols; tile.height = rows;
  tile.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = g.cell < 1;
  ctx.drawImage(tile, g.left, g.top, cols * g.cell, rows * g.cell);
  if (g.cell >= 10) { // white lines between cells, as the figures exported from the server have
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.beginPath();
    for (let c = 1; c < cols; c++) { ctx.moveTo(g.left + c * g.cell, g.top); ctx.lineTo(g.left + c * g.cell, g.top + rows * g.cell); }
    for (let r = 1; r < rows; r++) { ctx.moveTo(g.left, g.top + r * g.cell); ctx.lineTo(g.left + cols * g.cell, g.top + r * g.cell); }
    ctx.stroke();
  }
  const values = view.values === "auto" ? Math.max(rows, cols) <= 16 : view.values === "on";
  if (values && g.cell >= 22) {
    ctx.font = `${Math.min(12, g.cell / 3)}px sans-serif`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      const i = (r + r0) * C + (c + c0);
      const x = g.left + (c + 0.5) * g.cell, y = g.top + (r + 0.5) * g.cell;
      // a masked cell's weight is 0 (its score was −∞ before the softmax): grey, and the number it holds
      if (masked[i]) { ctx.fillStyle = "#8a8a8a"; ctx.fillText("0", x, y); continue; }
      const rgb = lut[Math.min(255, Math.round((matrix[i] / zmax) * 255))]; // text readable on any scale
      ctx.fillStyle = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 150 ? "#222" : "#fff";
      ctx.fillText(matrix[i].toFixed(2), x, y);
    }
  }
  // token labels: rows in their own canvas (it stays in view when the map scrolls sideways), columns on top
  const font = `${g.cell >= 14 ? 12 : 10}px "Noto Sans", "Noto Sans CJK SC", sans-serif`;
  rowCtx.fillStyle = "#333"; rowCtx.font = font; rowCtx.textBaseline = "middle"; rowCtx.textAlign = "right";
  const stepR = labelEvery(rows, g.plotH / 13), stepC = labelEvery(cols, g.plotW / 13);
  for (let r = 0; r < rows; r += stepR) rowCtx.fillText(clip(shown.rows[r + r0]), g.rowW - 5, g.top + (r + 0.5) * g.cell);
  ctx.fillStyle = "#333"; ctx.font = font; ctx.textBaseline = "middle";
  ctx.save();
  const rotate = cols > 6 || shown.cols.some((s) => s.length > 6);
  for (let c = 0; c < cols; c += stepC) {
    const x = g.left + (c + 0.5) * g.cell;
    ctx.save(); ctx.translate(x, g.top - 5);
    if (rotate) { ctx.rotate(-Math.PI / 2); ctx.textAlign = "left"; } else { ctx.textAlign = "center"; ctx.textBaseline = "bottom"; }
    ctx.fillText(clip(shown.cols[c + c0]), 0, 0);
    ctx.restore();
  }
  ctx.restore();
  // colour bar, outside the scrolling part: always in view
  const bx = 8, bh = Math.max(60, Math.min(220, rows * g.cell));
  for (let y = 0; y < bh; y++) {
    const rgb = lut[Math.round((1 - y / bh) * 255)];
    barCtx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`; barCtx.fillRect(bx, g.top + y, 12, 1);
  }
  barCtx.fillStyle = "#333"; barCtx.textAlign = "left"; barCtx.font = "11px sans-serif"; barCtx.textBaseline = "middle";
  barCtx.fillText(zmax.toFixed(2), bx + 16, g.top + 5);
  barCtx.fillText((zmax / 2).toFixed(2), bx + 16, g.top + bh / 2);
  barCtx.fillText("0", bx + 16, g.top + bh - 4);
  barCtx.save(); barCtx.translate(bx + 52, g.top + bh / 2); barCtx.rotate(-Math.PI / 2); barCtx.textAlign = "center";
  barCtx.fillText(meta.words.weight, 0, 0); barCtx.restore();
}

function clip(label) { return label.length > 18 ? label.slice(0, 17) + "…" : label; }

// Cells as large as the box allows (44 px at most); a text up to MAP_FIT tokens keeps cells of at least MIN_CELL
// (a label per cell stays readable) and scrolls inside its box past that; a longer one is an overview that fits.
const MIN_CELL = 16, MAX_CELL = 44, MAP_FIT = 64, BAR_W = 72;
function geometryFor(ctx, labels, rows, cols, room) {
  ctx.font = "12px sans-serif";
  const widest = (labels) => Math.min(150, Math.max(20, ...labels.map((s) => ctx.measureText(clip(s)).width)));
  const rotate = cols > 6 || labels.cols.some((s) => s.length > 6);
  const rowW = 12 + widest(labels.rows);
  const top = 36 + (rotate ? widest(labels.cols) : 16);
  const fit = Math.max(1, room - rowW - BAR_W - 12) / Math.max(cols, 1);
  const longest = Math.max(rows, cols);
  const cell = longest <= MAP_FIT ? Math.min(MAX_CELL, Math.max(MIN_CELL, Math.floor(fit)))
    : Math.min(MAX_CELL, Math.max(fit, 0.25));
  return { cell, left: 4, top, rowW, plotW: cols * cell, plotH: rows * cell,
           width: Math.ceil(4 + cols * cell + 8), height: Math.ceil(top + rows * cell + 16) };
}

// The grid of every head: one small panel per (layer, head), drawn into one ImageData (no per-cell calls).
function renderGrid(component, payload) {
  const { parentElement, setStateValue } = component;
  const { meta, weights, masked } = payload;
  const [L, H, R, C] = meta.shape;
  parentElement.querySelectorAll(".avz-live").forEach((node) => node.remove());
  const root = el("div", { class: "avz-live avz-grid", "data-testid": "avz-grid" });
  const plot = el("div", { class: "avz-plot" });
  const canvas = el("canvas", { "aria-label": meta.title });
  const layerCanvas = el("canvas", { class: "avz-rows", "aria-hidden": "true" }); // L0, L1 … stay in view
  const tip = el("div", { class: "avz-tip" });
  plot.append(canvas, layerCanvas);
  const note = el("div", { class: "avz-note" }, meta.block > 1 ? meta.words.pooled.replaceAll("{block}", meta.block)
    : meta.words.grid_hint);
  root.append(el("div", { class: "avz-title" }, meta.title), plot, note, tip); // the tip outside the scrolling box
  parentElement.append(root);
  const gap = 6, left = 4, labelW = 40, top = 26; // the layer labels sit in their own canvas, labelW wide
  // panels shrink to fit the box's width (the root's: the component's host has no width of its own), never
  // below 36 px; past that the grid scrolls inside its box
  const room = (root.clientWidth || plot.clientWidth || 1000) - labelW;
  const panel = Math.max(36, Math.min(meta.panel, Math.floor((room - left) / H) - gap));
  const cell = panel / Math.max(R, C);
  const width = left + H * (panel + gap), height = top + L * (panel + gap);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  const colours = meta.colorscale_table.map(parseRgb);
  const maskRgb = parseRgb(meta.masked_colour);
  const image = ctx.createImageData(canvas.width, canvas.height);
  const px = image.data;
  const side = Math.round(panel * ratio), n = R * C;
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const x0 = Math.round((left + h * (panel + gap)) * ratio), y0 = Math.round((top + l * (panel + gap)) * ratio);
      const base = (l * H + h) * n;
      // each panel on its own scale (its largest weight darkest), or every panel on 0..1
      let top16 = meta.fixed_scale ? 65535 : 1;
      if (!meta.fixed_scale) {
        for (let i = 0; i < n; i++) if (!masked[i] && weights[base + i] > top16) top16 = weights[base + i];
      }
      for (let y = 0; y < side; y++) {
        const r = Math.floor(y / (cell * ratio));
        if (r >= R) break;
        for (let x = 0; x < side; x++) {
          const c = Math.floor(x / (cell * ratio));
          if (c >= C) break;
          const i = r * C + c;
          const rgb = masked[i] ? maskRgb : colours[Math.min(255, Math.round(weights[base + i] / top16 * 255))];
          const o = ((y0 + y) * canvas.width + (x0 + x)) * 4;
          px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(image, 0, 0);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.font = "12px sans-serif"; ctx.fillStyle = "#262730"; ctx.textAlign = "center";
  for (let h = 0; h < H; h++) ctx.fillText(`H${meta.heads[h]}`, left + h * (panel + gap) + panel / 2, top - 8);
  layerCanvas.width = Math.round(labelW * ratio); layerCanvas.height = canvas.height;
  layerCanvas.style.width = `${labelW}px`; layerCanvas.style.height = `${height}px`;
  const lctx = layerCanvas.getContext("2d");
  lctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  lctx.font = "12px sans-serif"; lctx.fillStyle = "#262730"; lctx.textAlign = "right";
  for (let l = 0; l < L; l++) lctx.fillText(`L${meta.layers[l]}`, labelW - 6, top + l * (panel + gap) + panel / 2 + 4);
  // the opened panel (last clicked) framed, so the map below it is easy to tie to its panel
  const opened = (STATES.get(component.key) || {}).opened;
  const lo = opened ? meta.layers.indexOf(opened.layer) : -1, ho = opened ? meta.heads.indexOf(opened.head) : -1;
  if (lo >= 0 && ho >= 0) {
    ctx.strokeStyle = "#ff4b4b"; ctx.lineWidth = 3;
    ctx.strokeRect(left + ho * (panel + gap) - 2, top + lo * (panel + gap) - 2, panel + 4, panel + 4);
    canvas.dataset.opened = `L${opened.layer}H${opened.head}`;
  }
  canvas.dataset.drawn = String(performance.now());
  canvas.dataset.panels = String(L * H);

  function at(event) {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - left, y = event.clientY - rect.top - top;
    const h = Math.floor(x / (panel + gap)), l = Math.floor(y / (panel + gap));
    const px = x - h * (panel + gap), py = y - l * (panel + gap);
    if (x < 0 || y < 0 || h >= H || l >= L || px >= C * cell || py >= R * cell) return null;
    return { l, h, r: Math.floor(py / cell), c: Math.floor(px / cell),
             x: event.clientX - rect.left, y: event.clientY - rect.top };
  }
  canvas.addEventListener("mousemove", (e) => {
    const a = at(e);
    if (!a) { tip.style.display = "none"; return; }
    const i = a.r * C + a.c;
    const value = masked[i] ? meta.words.masked
      : `${meta.words.weight}: ${(weights[(a.l * H + a.h) * n + i] / 65535).toFixed(4)}`;
    tip.textContent = "";
    tip.append(el("div", {}, `${meta.words.layer} ${meta.layers[a.l]} · H${meta.heads[a.h]}`),
               el("div", {}, `${meta.rows[a.r]} → ${meta.cols[a.c]}`), el("div", {}, value));
    tip.style.display = "block";
    const box = root.getBoundingClientRect();
    tip.style.left = `${Math.max(0, Math.min(e.clientX - box.left + 14, box.width - 200))}px`;
    tip.style.top = `${e.clientY - box.top + 14}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  canvas.addEventListener("click", (e) => {
    const a = at(e);
    if (!a) return;
    const opened = { layer: meta.layers[a.l], head: meta.heads[a.h] };
    STATES.set(component.key, { ...(STATES.get(component.key) || {}), opened });
    setStateValue("view", opened);
    renderGrid(component, payload); // the frame moves to the clicked panel at once
    revealOpened(opened);
  });
}

// After a click on a panel the page reruns and draws that head's map under the grid, in a box keyed by layer and
// head: scroll it into view and flash its border, so the visitor sees where it opened.
function revealOpened(opened) {
  const selector = `.st-key-grid-opened-L${opened.layer}-H${opened.head}`;
  const started = performance.now();
  const look = () => {
    const box = document.querySelector(selector);
    if (!box) { if (performance.now() - started < 15000) setTimeout(look, 50); return; }
    box.scrollIntoView({ behavior: "smooth", block: "center" });
    box.dataset.avzHighlight = "1";
    box.style.transition = "box-shadow 0.4s";
    box.style.boxShadow = "0 0 0 3px #ff4b4b";
    setTimeout(() => { box.style.boxShadow = ""; }, 2500);
  };
  look();
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  if (!data) return;
  let payload;
  try { payload = parse(data); } catch (error) { parentElement.textContent = String(error); return; }
  if (payload.meta.grid) return renderGrid(component, payload);
  const meta = payload.meta;
  const memo = STATES.get(key) || {};
  const serverView = { ...meta.state };
  // The server echoes what this map sent; anything else (a link, a new text) is a new start. Clicks are sent at
  // once, so the echo of an earlier click may arrive after a later one: any recent send counts as an echo.
  const echoed = (memo.recent || []).some((sent) => sameView(serverView, sent));
  const view = memo.view && echoed ? memo.view : serverView;
  if (memo.root && memo.version === meta.version && sameView(view, memo.view) && memo.root.isConnected) {
    return; // same data, same choice: nothing to redraw
  }
  // remove only this map's previous drawing: the parent also holds the stylesheet Streamlit put there
  parentElement.querySelectorAll(".avz-live").forEach((node) => node.remove());
  const root = el("div", { class: "avz-live", "data-testid": "avz-live" });
  const bar = el("div", { class: "avz-bar" });
  // the map scrolls sideways inside its box (row labels stick to its left edge); the colour bar stays beside it
  const frame = el("div", { class: "avz-frame" });
  const plot = el("div", { class: "avz-plot", "data-testid": "avz-scroll" });
  const canvas = el("canvas", { tabindex: "0", "aria-label": meta.title });
  const rowCanvas = el("canvas", { class: "avz-rows", "aria-hidden": "true" });
  const barCanvas = el("canvas", { class: "avz-scale", "aria-hidden": "true" });
  const tip = el("div", { class: "avz-tip" });
  const note = el("div", { class: "avz-note" });
  plot.append(canvas, rowCanvas); // the map's canvas first: it is the one tests and benchmarks read
  frame.append(plot, barCanvas, tip);
  root.append(el("div", { class: "avz-title" }, meta.title), bar, frame, note);
  parentElement.append(root);
  const state = { view, crop: null, sendTimer: null };
  STATES.set(key, { ...memo, root, version: meta.version, view, sent: memo.sent });

  // controls
  const layerBox = el("label", { class: "avz-layer" });
  const layerInput = el("input", { type: "range", min: 0, max: meta.n_layers - 1, step: 1, "data-testid": "avz-layer" });
  const layerValue = el("span", { class: "avz-value" });
  layerBox.append(el("span", {}, meta.words.layer + " "), layerInput, layerValue);
  const modeSelect = el("select", { "data-testid": "avz-mode" });
  for (const m of ["single", "mean", "max"]) {
    const option = el("option", { value: m }, meta.words.modes[m]);
    modeSelect.append(option);
  }
  const headBox = el("div", { class: "avz-heads" });
  const headButtons = [];
  for (let h = 0; h < meta.n_heads; h++) {
    const b = el("button", { type: "button", "data-head": String(h), "data-testid": `avz-head-${h}` }, `H${h}`);
    headButtons.push(b); headBox.append(b);
  }
  const reset = el("button", { type: "button", class: "avz-reset", "data-testid": "avz-reset" }, meta.words.reset);
  bar.append(layerBox);
  bar.append(el("span", { class: "avz-label" }, meta.words.mode), modeSelect, headBox, reset);
  // the look: drawn here from the same weights, so none of these asks the server for anything
  const look = el("div", { class: "avz-bar avz-look" });
  const colorscaleSelect = el("select", { "data-testid": "avz-colorscale", title: meta.words.colorscale });
  for (const name of Object.keys(meta.colorscales)) colorscaleSelect.append(el("option", { value: name }, name));
  const valuesSelect = el("select", { "data-testid": "avz-values", title: meta.words.values });
  for (const [word, label] of Object.entries(meta.words.value_modes)) valuesSelect.append(el("option", { value: word }, label));
  const box = (testid, text, help) => {
    const label = el("label", { class: "avz-check", title: help });
    const input = el("input", { type: "checkbox", "data-testid": testid });
    label.append(input, el("span", {}, text));
    return [label, input];
  };
  const [fixedBox, fixedInput] = box("avz-fixed", meta.words.fixed, meta.words.fixed_help);
  const [renormBox, renormInput] = box("avz-renorm", meta.words.renorm, meta.words.renorm_help);
  const [hideBox, hideInput] = box("avz-hide", meta.words.hide, meta.words.hide_help);
  look.append(hideBox, el("span", { class: "avz-label" }, meta.words.colorscale), colorscaleSelect,
              el("span", { class: "avz-label" }, meta.words.values), valuesSelect, fixedBox, renormBox);
  bar.after(look);
  note.textContent = meta.words.hint;

  const ctx = canvas.getContext("2d");
  let geometry = null, matrix = null, shown = null, lastRoom = 0;
  // the width the map may take: its box (the page's column), whatever the map drew last time
  const roomOf = () => Math.max(200, frame.clientWidth || root.clientWidth || 600);
  if (typeof ResizeObserver !== "undefined") { // a phone turned, a window resized: fit the new box
    const observer = new ResizeObserver(() => { if (matrix && Math.abs(roomOf() - lastRoom) > 8) render(); });
    observer.observe(frame);
  }

  function fullCrop() {
    return { r0: 0, r1: shown.R, c0: 0, c1: shown.C };
  }

  function render() {
    const v = state.view;
    layerInput.value = String(v.layer); layerValue.textContent = String(v.layer);
    modeSelect.value = v.mode;
    colorscaleSelect.value = v.colorscale; valuesSelect.value = v.values;
    fixedInput.checked = !!v.fixed; hideInput.checked = !!v.hide;
    headButtons.forEach((b, h) => {
      const on = v.mode === "single" ? h === v.head : v.heads.includes(h);
      b.classList.toggle("on", on);
    });
    reset.style.display = state.crop || meta.window.zoomed ? "" : "none";
    matrix = combine(payload, v);
    // special tokens hidden on the server (merged words, a long input's window): a change needs new data
    if (matrix && !meta.specials && !!v.hide !== !!meta.hidden) matrix = null;
    if (!matrix) { root.classList.add("avz-waiting"); note.textContent = meta.words.loading; return; }
    if (state.crop && (state.crop.hide !== !!v.hide)) state.crop = null; // a zoom in other coordinates
    shown = visible(payload, matrix, v);
    renormInput.disabled = !shown.canRenorm; renormInput.checked = !!v.renorm && shown.canRenorm;
    root.classList.remove("avz-waiting");
    note.textContent = meta.window.block > 1 ? meta.words.pooled.replaceAll("{block}", meta.window.block) : meta.words.hint;
    const crop = state.crop || fullCrop();
    const ratio = window.devicePixelRatio || 1;
    geometry = geometryFor(ctx, shown, crop.r1 - crop.r0, crop.c1 - crop.c0, roomOf());
    const size = (target, width) => {
      target.width = Math.ceil(width * ratio); target.height = Math.ceil(geometry.height * ratio);
      target.style.width = `${width}px`; target.style.height = `${geometry.height}px`;
      const context = target.getContext("2d");
      context.setTransform(ratio, 0, 0, ratio, 0, 0); context.clearRect(0, 0, width, geometry.height);
      return context;
    };
    size(canvas, geometry.width);
    drawMap(ctx, meta, shown, v, crop, geometry, size(rowCanvas, geometry.rowW), size(barCanvas, BAR_W));
    lastRoom = roomOf();
    canvas.dataset.layer = String(v.layer);
    canvas.dataset.head = v.mode === "single" ? String(v.head) : v.heads.join(",");
    canvas.dataset.mode = v.mode;
    canvas.dataset.look = `${v.colorscale},${v.values},${v.fixed ? 1 : 0},${v.renorm && shown.canRenorm ? 1 : 0}`;
    canvas.dataset.hide = v.hide ? "1" : "0";
    canvas.dataset.shape = `${shown.R}x${shown.C}`;
    canvas.dataset.window = `${meta.window.row0},${meta.window.col0},${meta.window.rows},${meta.window.cols},${meta.window.block}`;
    canvas.dataset.sent = meta.maps.map(([l, h]) => `L${l}H${h}`).join(" "); // what the payload holds
    canvas.dataset.drawn = String(performance.now());
    // read-only, for tests: the numbers this map shows under the current choice (a copy)
    canvas.avzShown = () => ({ R: shown.R, C: shown.C, rows: [...shown.rows], cols: [...shown.cols],
                               matrix: Array.from(shown.matrix), masked: Array.from(shown.masked) });
  }

  function choose(change, immediately = false) {
    state.view = { ...state.view, ...change };
    STATES.set(key, { ...STATES.get(key), view: state.view });
    render();
    clearTimeout(state.sendTimer);
    const send = () => {
      const memo = STATES.get(key);
      STATES.set(key, { ...memo, sent: state.view, recent: [...(memo.recent || []).slice(-7), state.view] });
      setStateValue("view", state.view);
    };
    if (immediately || !matrix) send(); else state.sendTimer = setTimeout(send, SEND_DELAY_MS);
  }

  layerInput.addEventListener("input", () => choose({ layer: Number(layerInput.value) }));
  layerInput.addEventListener("change", () => choose({ layer: Number(layerInput.value) }, true)); // released
  modeSelect.addEventListener("change", () => choose({ mode: modeSelect.value }, true));
  colorscaleSelect.addEventListener("change", () => choose({ colorscale: colorscaleSelect.value }, true));
  valuesSelect.addEventListener("change", () => choose({ values: valuesSelect.value }, true));
  fixedInput.addEventListener("change", () => choose({ fixed: fixedInput.checked }, true));
  renormInput.addEventListener("change", () => choose({ renorm: renormInput.checked }, true));
  hideInput.addEventListener("change", () => choose({ hide: hideInput.checked }, true));
  headButtons.forEach((b, h) => b.addEventListener("click", () => {
    const v = state.view;
    if (v.mode === "single") return choose({ head: h }, true);
    const heads = v.heads.includes(h) ? v.heads.filter((x) => x !== h) : [...v.heads, h].sort((a, b) => a - b);
    if (heads.length) choose({ heads }, true);
  }));
  reset.addEventListener("click", () => {
    if (meta.window.zoomed) { state.crop = null; choose({ zoom: null }, true); } else { state.crop = null; render(); }
  });
  canvas.addEventListener("keydown", (e) => {
    const v = state.view;
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const d = e.key === "ArrowRight" ? 1 : -1;
      if (v.mode === "single") choose({ head: (v.head + d + meta.n_heads) % meta.n_heads });
      e.preventDefault();
    } else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      const d = e.key === "ArrowDown" ? 1 : -1;
      choose({ layer: Math.min(meta.n_layers - 1, Math.max(0, v.layer + d)) });
      e.preventDefault();
    }
  });

  // hover and drag-to-zoom
  function cellAt(event) {
    if (!geometry) return null;
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - geometry.left, y = event.clientY - rect.top - geometry.top;
    const crop = state.crop || fullCrop();
    const c = Math.floor(x / geometry.cell), r = Math.floor(y / geometry.cell);
    if (x < 0 || y < 0 || c >= crop.c1 - crop.c0 || r >= crop.r1 - crop.r0) return null;
    return { r: r + crop.r0, c: c + crop.c0, x: event.clientX - rect.left, y: event.clientY - rect.top };
  }
  let dragFrom = null;
  canvas.addEventListener("mousedown", (e) => { dragFrom = cellAt(e); });
  canvas.addEventListener("mouseup", (e) => {
    const to = cellAt(e);
    const from = dragFrom; dragFrom = null;
    if (!from || !to || (Math.abs(from.r - to.r) < 2 && Math.abs(from.c - to.c) < 2)) return;
    const r0 = Math.min(from.r, to.r), r1 = Math.max(from.r, to.r) + 1;
    const c0 = Math.min(from.c, to.c), c1 = Math.max(from.c, to.c) + 1;
    if (meta.window.block > 1) { // the overview is pooled: ask the server for the region at full resolution
      const w = meta.window, b = w.block;
      choose({ zoom: [w.row0 + r0 * b, w.row0 + r1 * b, w.col0 + c0 * b, w.col0 + c1 * b] }, true);
    } else { state.crop = { r0, r1, c0, c1, hide: !!state.view.hide }; render(); }
  });
  canvas.addEventListener("mousemove", (e) => {
    const at = cellAt(e);
    if (!at || !matrix) { tip.style.display = "none"; return; }
    const i = at.r * shown.C + at.c;
    const name = `${shown.rows[at.r]} → ${shown.cols[at.c]}`;
    const where = meta.window.block > 1 ? ` (${meta.words.block} ${meta.window.block}×${meta.window.block})` : "";
    const value = shown.masked[i] ? meta.words.masked : `${meta.words.weight}: ${shown.matrix[i].toFixed(4)}`;
    tip.textContent = "";
    tip.append(el("div", {}, name + where), el("div", {}, value));
    tip.style.display = "block";
    const box = frame.getBoundingClientRect(); // the tip sits in the frame, outside the scrolling part
    tip.style.left = `${Math.max(0, Math.min(e.clientX - box.left + 14, box.width - 180))}px`;
    tip.style.top = `${e.clientY - box.top + 14}px`;
    tip.dataset.value = shown.masked[i] ? "masked" : shown.matrix[i].toFixed(4);
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });

  render();
  if (!matrix) choose({}, true); // the server sent another layer than the one chosen here: ask for it
}

// The map's own arithmetic, for the browser tests (tests/e2e/test_live_map.py) that run it on the server's payloads.
export { combine, parse, visible };
