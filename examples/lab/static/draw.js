// Copyright 2025 the sockkit authors. MIT license.
// Draws a lab run (the JSON of examples/lab/model.ts) as SVG boxes, count tables and box
// tables. Marks are told apart by pattern and letter, never by colour alone.

const SVG = "http://www.w3.org/2000/svg";
const BOX_H = 28;
const LANE_GAP = 4;
const LABEL_H = 18;
const ROW_GAP = 12;
const MIN_W = 34;
const MAX_W = 240;
const EMPTY_W = 20;
const TARGET_W = 1000;

/** What each mark means: its letter in the box, its pattern, its words. */
export const MARKS = {
  sent: { letter: "", pattern: null, text: "a sent message" },
  empty: {
    letter: "∅",
    pattern: null,
    text: "a sent message of 0 bytes (dashed)",
  },
  whole: { letter: "", pattern: null, text: "one message, whole and alone" },
  merged: {
    letter: "M",
    pattern: "diag",
    text: "merged: one read held bytes of 2+ messages",
  },
  split: {
    letter: "S",
    pattern: "dots",
    text: "split: part of a message that came in 2+ reads",
  },
  "merged+split": { letter: "M+S", pattern: "cross", text: "merged and split" },
  lost: {
    letter: "✘",
    pattern: null,
    text: "lost: never arrived (crossed, dashed red)",
  },
  refused: {
    letter: "✘",
    pattern: null,
    text: "refused: the sender would not send it (crossed)",
  },
  truncated: {
    letter: "T",
    pattern: "hlines",
    text: "truncated: cut short by a small buffer",
  },
  duplicate: {
    letter: "D",
    pattern: "vlines",
    text: "duplicate: a second copy",
  },
  reordered: {
    letter: "R",
    pattern: "back",
    text: "reordered: arrived after a later message",
  },
  corrupted: {
    letter: "C",
    pattern: "ring",
    text: "corrupted: bytes changed on the way",
  },
  leftover: {
    letter: "L",
    pattern: "grid",
    text: "leftover: an earlier reply read for a later command",
  },
};

const fmt = (n) => Number(n).toLocaleString("en-US");

function el(name, attrs = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function html(name, attrs = {}, text) {
  const node = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function patterns(defs) {
  const make = (id, draw) => {
    const p = el("pattern", {
      id: `pat-${id}`,
      width: 8,
      height: 8,
      patternUnits: "userSpaceOnUse",
      class: "pat",
    }, defs);
    el("rect", { width: 8, height: 8, fill: "var(--box)" }, p);
    draw(p);
  };
  make("diag", (p) => el("line", { x1: 0, y1: 8, x2: 8, y2: 0 }, p));
  make("back", (p) => el("line", { x1: 0, y1: 0, x2: 8, y2: 8 }, p));
  make("dots", (p) => el("circle", { cx: 4, cy: 4, r: 1.4 }, p));
  make("cross", (p) => {
    el("line", { x1: 0, y1: 8, x2: 8, y2: 0 }, p);
    el("line", { x1: 0, y1: 0, x2: 8, y2: 8 }, p);
  });
  make(
    "ring",
    (p) =>
      el(
        "circle",
        { cx: 4, cy: 4, r: 2.5, fill: "none", stroke: "#6a6a6a" },
        p,
      ),
  );
  make("hlines", (p) => el("line", { x1: 0, y1: 4, x2: 8, y2: 4 }, p));
  make("vlines", (p) => el("line", { x1: 4, y1: 0, x2: 4, y2: 8 }, p));
  make("grid", (p) => {
    el("line", { x1: 0, y1: 4, x2: 8, y2: 4 }, p);
    el("line", { x1: 4, y1: 0, x2: 4, y2: 8 }, p);
  });
}

/** Column layout of the sent messages: x and width of each, and a byte → x mapping. */
function layout(sizes) {
  const weight = (n) => n === 0 ? EMPTY_W : Math.min(MAX_W, MIN_W + 22 * Math.log2(1 + n / 32));
  let widths = sizes.map(weight);
  const sum = widths.reduce((a, w) => a + w, 0);
  if (sum < TARGET_W) {
    widths = widths.map((w, i) =>
      sizes[i] === 0 ? w : w * (TARGET_W - sizes.filter((n) => n === 0).length * EMPTY_W) /
        (sum - sizes.filter((n) => n === 0).length * EMPTY_W)
    );
  }
  const xs = [];
  let x = 4;
  for (const w of widths) {
    xs.push(x);
    x += w;
  }
  const starts = [];
  let at = 0;
  for (const n of sizes) {
    starts.push(at);
    at += n;
  }
  // x of a byte offset: a start lies in the message holding byte b, an end in the one holding b-1
  const xOf = (b, end) => {
    const byte = end ? b - 1 : b;
    for (let i = 0; i < sizes.length; i++) {
      if (sizes[i] > 0 && starts[i] <= byte && byte < starts[i] + sizes[i]) {
        return xs[i] + ((b - starts[i]) / sizes[i]) * widths[i];
      }
    }
    return end ? x : 4;
  };
  return { xs, widths, width: x + 4, xOf };
}

function boxText(box, w) {
  const letter = MARKS[box.mark]?.letter ?? "";
  const candidates = [
    `${letter ? letter + " " : ""}${box.label} ${fmt(box.size)} B`,
    `${letter ? letter + " " : ""}${fmt(box.size)}`,
    letter || `${box.label}`,
    letter,
  ];
  return candidates.find((t) => t && t.length * 6.7 + 6 <= w) ?? "";
}

function describe(box, names) {
  const of = box.messages.length === 0
    ? "no sent message"
    : box.messages.length === 1
    ? names[box.messages[0]]
    : `${names[box.messages[0]]}–${
      names[box.messages[box.messages.length - 1]]
    } (${box.messages.length} messages)`;
  return `${box.label}: ${fmt(box.size)} B, ${box.mark}, holds ${of}${
    box.note ? "; " + box.note : ""
  }`;
}

function drawBox(parent, box, x, y, w, rowId, index, names) {
  const g = el("g", {
    class: `box mark-${box.mark}`,
    "data-row": rowId,
    "data-index": index,
    "data-size": box.size,
    "data-mark": box.mark,
    "data-label": box.label,
  }, parent);
  el("title", {}, g).textContent = describe(box, names);
  const pattern = MARKS[box.mark]?.pattern;
  el("rect", {
    x,
    y,
    width: Math.max(1, w),
    height: BOX_H,
    ...(pattern ? { fill: `url(#pat-${pattern})` } : {}),
  }, g);
  if (box.mark === "lost" || box.mark === "refused") {
    el("line", {
      class: "cross",
      x1: x + 2,
      y1: y + 2,
      x2: x + w - 2,
      y2: y + BOX_H - 2,
    }, g);
    el("line", {
      class: "cross",
      x1: x + 2,
      y1: y + BOX_H - 2,
      x2: x + w - 2,
      y2: y + 2,
    }, g);
  }
  const text = boxText(box, w);
  if (text) {
    const t = el("text", { x: x + 3, y: y + BOX_H / 2 + 4 }, g);
    t.textContent = text;
    if (pattern) {
      // a plate behind the words so the pattern does not cross them
      const plate = el("rect", {
        x: x + 2,
        y: y + 7,
        width: text.length * 6.7 + 2,
        height: 14,
        fill: "var(--paper)",
        stroke: "none",
      });
      g.insertBefore(plate, t);
    }
  }
}

/** Draws the run into `svg`. */
export function drawRun(svg, run) {
  svg.replaceChildren();
  const sizes = run.sent.boxes.map((b) => b.size);
  const names = run.sent.boxes.map((b) => b.label);
  const { xs, widths, width, xOf } = layout(sizes);
  el("title", { id: "drawing-title" }, svg).textContent =
    `${run.title}: ${run.sent.boxes.length} sent messages above ${run.rows.length} receivers; the tables below list every box`;
  patterns(el("defs", {}, svg));
  let y = 0;
  const band = (label, id, lanes) => {
    const t = el("text", {
      class: "row-label",
      x: 4,
      y: y + 13,
      "data-row-label": id,
    }, svg);
    t.textContent = label;
    const top = y + LABEL_H;
    y = top + lanes * (BOX_H + LANE_GAP) + ROW_GAP;
    return top;
  };
  const sentTop = band(
    `${run.sent.label} (${fmt(sizes.length)} messages, ${fmt(sizes.reduce((a, n) => a + n, 0))} B)`,
    "sent",
    1,
  );
  const sentG = el("g", { "data-row": "sent" }, svg);
  run.sent.boxes.forEach((box, i) =>
    drawBox(sentG, box, xs[i], sentTop, widths[i], "sent", i, names)
  );
  for (const row of run.rows) {
    const lanesOf = new Map();
    let lanes = 1;
    if (row.kind === "messages") {
      for (const box of row.boxes) {
        const k = box.messages[0] ?? -1;
        lanesOf.set(k, (lanesOf.get(k) ?? 0) + 1);
        lanes = Math.max(lanes, lanesOf.get(k));
      }
      lanesOf.clear();
    }
    const top = band(row.label, row.id, lanes);
    const g = el("g", { "data-row": row.id }, svg);
    row.boxes.forEach((box, i) => {
      if (row.kind === "stream") {
        const x0 = xOf(box.offset, false),
          x1 = xOf(box.offset + box.size, true);
        drawBox(g, box, x0, top, Math.max(1, x1 - x0), row.id, i, names);
      } else {
        const k = box.messages[0];
        if (k === undefined) {
          drawBox(g, box, width - 40, top, 36, row.id, i, names); // matches no message: at the end
          return;
        }
        const lane = lanesOf.get(k) ?? 0;
        lanesOf.set(k, lane + 1);
        drawBox(
          g,
          box,
          xs[k] + 1,
          top + lane * (BOX_H + LANE_GAP),
          Math.max(1, widths[k] - 2),
          row.id,
          i,
          names,
        );
      }
    });
  }
  svg.setAttribute("width", String(Math.ceil(width)));
  svg.setAttribute("height", String(y));
  svg.setAttribute("viewBox", `0 0 ${Math.ceil(width)} ${y}`);
}

/** The counts of every row as tables. */
export function countTables(run) {
  return run.rows.map((row) => {
    const table = html("table", { class: "counts", "data-row": row.id });
    table.appendChild(html("caption", {}, row.label));
    const body = html("tbody");
    for (const [name, value] of Object.entries(row.counts)) {
      const tr = html("tr");
      tr.appendChild(html("th", { scope: "row" }, name));
      tr.appendChild(
        html("td", { class: "num", "data-count": name }, fmt(value)),
      );
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  });
}

/** Every box of every row as a table, the sent messages first. */
export function boxTables(run) {
  const names = run.sent.boxes.map((b) => b.label);
  const rows = [
    { id: "sent", label: run.sent.label, boxes: run.sent.boxes },
    ...run.rows,
  ];
  return rows.map((row) => {
    const details = html("details", { "data-row": row.id });
    if (row.boxes.length <= 60) details.open = true;
    details.appendChild(
      html("summary", {}, `${row.label}: ${fmt(row.boxes.length)} boxes`),
    );
    const build = () => buildTable(row, names);
    // long tables are built when first opened
    if (row.boxes.length <= 300) details.appendChild(build());
    else {
      details.addEventListener("toggle", () => {
        if (details.open && !details.querySelector("table")) details.appendChild(build());
      });
    }
    return details;
  });
}

/** One row's boxes as a table. */
function buildTable(row, names) {
  const table = html("table", { class: "boxes", "data-row": row.id });
  table.appendChild(html("caption", {}, row.label));
  const head = html("tr");
  for (const h of ["#", "box", "bytes", "what", "holds", "note"]) {
    head.appendChild(html("th", { scope: "col" }, h));
  }
  table.appendChild(html("thead")).appendChild(head);
  const body = html("tbody");
  row.boxes.forEach((box, i) => {
    const tr = html("tr", { "data-mark": box.mark, "data-size": box.size });
    const holds = box.messages.length === 0
      ? "—"
      : box.messages.length === 1
      ? names[box.messages[0]]
      : `${names[box.messages[0]]}–${names[box.messages[box.messages.length - 1]]}`;
    for (
      const [text, cls] of [
        [String(i + 1), "num"],
        [box.label, ""],
        [fmt(box.size), "num"],
        [
          `${MARKS[box.mark]?.letter ? MARKS[box.mark].letter + " " : ""}${box.mark}`,
          "",
        ],
        [holds, ""],
        [box.note ?? "", ""],
      ]
    ) {
      tr.appendChild(html("td", cls ? { class: cls } : {}, text));
    }
    body.appendChild(tr);
  });
  table.appendChild(body);
  return table;
}

/** The legend: a swatch and the words for every mark. */
export function legendItems() {
  return Object.entries(MARKS).map(([mark, m]) => {
    const li = html("li", { "data-mark": mark });
    // the patterns are the drawing's own (one set of ids in the page)
    const svg = el("svg", { width: 44, height: 18, "aria-hidden": "true" });
    const g = el("g", { class: `box mark-${mark}` }, svg);
    el("rect", {
      x: 1,
      y: 1,
      width: 42,
      height: 16,
      ...(m.pattern ? { fill: `url(#pat-${m.pattern})` } : {}),
    }, g);
    if (mark === "lost" || mark === "refused") {
      el("line", { class: "cross", x1: 3, y1: 3, x2: 41, y2: 15 }, g);
      el("line", { class: "cross", x1: 3, y1: 15, x2: 41, y2: 3 }, g);
    }
    li.appendChild(svg);
    li.appendChild(
      document.createTextNode(`${m.letter ? m.letter + " " : ""}${m.text}`),
    );
    return li;
  });
}
