// zhalign review: a thin view. The server (align/review_server.py) does every edit and
// answers with the rows that changed: {start, removed, rows}; this page splices them in.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const view = document.getElementById("beads");
const counts = document.getElementById("counts");
const message = document.getElementById("message");
const help = document.getElementById("help");

let zh = [], en = [];     // sentence texts, by id
let beads = [];           // {zh: [ids], en: [ids], score, status}, in order
let elements = [];        // the row of each bead
let cursor = 0;
let pending = Promise.resolve();   // operations run one after another
const timings = window.reviewTimings = [];  // ms from key to the changed rows painted

function api(method, path, body) {
  return fetch(path, {
    method, headers: {"X-Review-Token": token, "Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  });
}

function say(text, error = false) {
  message.textContent = text;
  message.className = error ? "error" : "";
}

function cell(className, text) {
  const div = document.createElement("div");
  div.className = className;
  if (text !== undefined) div.textContent = text;
  return div;
}

function sentences(side, ids, texts) {
  const div = cell(side);
  div.lang = side === "zh" ? "zh-Hans" : "en";
  if (!ids.length) {
    div.classList.add("none");
    div.textContent = "— unaligned —";
    return div;
  }
  for (const id of ids) {
    const span = document.createElement("span");
    span.className = "s";
    span.title = `${side} ${id}`;
    span.textContent = texts[id];
    div.append(span, side === "en" ? " " : "");
  }
  return div;
}

function scoreColour(score) {
  return score === null ? "#eee" : `hsl(${Math.round(score * 120)}, 65%, 82%)`;
}

function render(bead) {
  const row = document.createElement("div");
  row.className = `bead ${bead.status}`;
  const score = cell("score", bead.score === null ? "—" : bead.score.toFixed(2));
  score.style.background = scoreColour(bead.score);
  score.title = bead.score === null ? "made by an edit: no aligner score" : `aligner's score ${bead.score}`;
  const status = cell("status");
  status.append(Object.assign(document.createElement("span"), {textContent: bead.status}));
  row.append(cell("n"), score, cell("type", `${bead.zh.length}-${bead.en.length}`), status,
             sentences("zh", bead.zh, zh), sentences("en", bead.en, en));
  row.dataset.status = bead.status;
  return row;
}

function showCounts(data) {
  const confirmed = beads.filter((b) => b.status === "confirmed").length;
  const edited = beads.filter((b) => b.status === "edited").length;
  const unaligned = beads.filter((b) => !b.zh.length || !b.en.length).length;
  counts.textContent = `bead ${cursor + 1} of ${beads.length} · ${confirmed} confirmed · ${edited} edited · ` +
    `${unaligned} unaligned · ${data.unsaved ? data.unsaved + " edits not saved (kept in the journal)" : "saved"}`;
  document.body.dataset.unsaved = data.unsaved;
}

function moveCursor(to, scroll = true) {
  if (!beads.length) return;
  to = Math.max(0, Math.min(beads.length - 1, to));
  if (elements[cursor]) elements[cursor].classList.remove("cursor");
  cursor = to;
  elements[cursor].classList.add("cursor");
  if (scroll) elements[cursor].scrollIntoView({block: "nearest"});
  counts.textContent = counts.textContent.replace(/^bead \d+/, `bead ${cursor + 1}`);
  saveCursorSoon();
}

let cursorTimer = 0;
function saveCursorSoon() {  // the journal keeps the cursor, so that a review resumes where it stopped
  clearTimeout(cursorTimer);
  cursorTimer = setTimeout(() => api("POST", "/api/cursor", {cursor}).catch(() => {}), 400);
}

function splice(data) {
  const fresh = data.rows.map(render);
  const old = elements.slice(data.start, data.start + data.removed);
  const after = elements[data.start + data.removed] || null;
  for (const row of fresh) view.insertBefore(row, after);
  for (const row of old) row.remove();
  beads.splice(data.start, data.removed, ...data.rows);
  elements.splice(data.start, data.removed, ...fresh);
}

// An operation on the bead at the cursor; `next` is where the cursor goes after it.
function operate(body, next, started = performance.now()) {
  pending = pending.then(() => api("POST", "/api/op", {...body, index: cursor, cursor}).then((data) => {
    splice(data);
    const to = next === undefined ? Math.min(cursor, beads.length - 1) : next(data);
    for (const row of view.querySelectorAll(".bead.cursor")) row.classList.remove("cursor");
    moveCursor(to);
    showCounts(data);
    say(`${body.op}${body.mode ? " " + body.mode : ""}${body.side ? " " + body.side + " " + body.edge : ""} done`);
    requestAnimationFrame(() => {
      timings.push(performance.now() - started);
      (window.reviewLog = window.reviewLog || []).push([body.op, data.rows.length, Math.round(performance.now() - started)]);
      document.body.dataset.edits = timings.length;
    });
  }).catch((error) => {
    say(error.message, true);
    document.body.dataset.refused = (+(document.body.dataset.refused || 0)) + 1;
  }));
  return pending;
}

function save() {
  pending = pending.then(() => api("POST", "/api/save").then((data) => {
    showCounts(data);
    say(`saved ${data.written.join(" and ")}`);
    document.body.dataset.saved = (+(document.body.dataset.saved || 0)) + 1;
  }).catch((error) => say(error.message, true)));
}

let lastKey = "";
function nextNeedingLook() {  // n again walks on down the list; after any other key it starts at the top
  const walk = lastKey === "n" ? 1 : 0;
  pending = pending.then(() => api("GET", `/api/next?cursor=${cursor}&walk=${walk}`).then((data) => {
    if (data.index === null) say("every bead is confirmed");
    else moveCursor(data.index);
  }));
}

const confirmNext = (data) => data.rows[0] && data.rows[0].status === "confirmed" ? cursor + 1 : cursor;
const KEYS = {
  "j": () => moveCursor(cursor + 1), "ArrowDown": () => moveCursor(cursor + 1),
  "k": () => moveCursor(cursor - 1), "ArrowUp": () => moveCursor(cursor - 1),
  "Home": () => moveCursor(0), "End": () => moveCursor(beads.length - 1),
  "n": nextNeedingLook,
  "m": (t) => operate({op: "merge"}, undefined, t),
  "x": (t) => operate({op: "split", mode: "pair"}, undefined, t),
  "z": (t) => operate({op: "split", mode: "zh"}, undefined, t),
  "e": (t) => operate({op: "split", mode: "en"}, undefined, t),
  "[": (t) => operate({op: "move", side: "zh", edge: "first"}, undefined, t),
  "]": (t) => operate({op: "move", side: "zh", edge: "last"}, undefined, t),
  "{": (t) => operate({op: "move", side: "en", edge: "first"}, undefined, t),
  "}": (t) => operate({op: "move", side: "en", edge: "last"}, undefined, t),
  "c": (t) => operate({op: "confirm"}, confirmNext, t),
  "C": (t) => operate({op: "confirm_through"}, () => cursor + 1, t),
  "u": (t) => operate({op: "undo"}, (data) => data.start, t),
  "U": (t) => operate({op: "redo"}, (data) => data.start, t),
  "A": (t) => { say("aligning again around the confirmed beads…"); operate({op: "realign"}, undefined, t); },
  "s": save,
  "?": () => { help.hidden = !help.hidden; },
  "Escape": () => { help.hidden = true; },
};

document.addEventListener("keydown", (event) => {
  const started = performance.now();
  let key = event.key;
  if (event.ctrlKey || event.metaKey) {
    if (key === "z" || key === "Z") key = event.shiftKey ? "U" : "u";
    else if (key === "y") key = "U";
    else return;
  } else if (event.altKey) return;
  const action = KEYS[key];
  if (!action || event.target.tagName === "INPUT") return;
  event.preventDefault();
  action(started);
  lastKey = key;
});

view.addEventListener("click", (event) => {
  const row = event.target.closest(".bead");
  if (row) moveCursor(elements.indexOf(row), false);
});

document.getElementById("tools").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.id === "save") return save();
  if (button.id === "help-button") return KEYS["?"]();
  const {op, mode, side, edge} = button.dataset;
  const next = op === "confirm" ? confirmNext : op === "confirm_through" ? () => cursor + 1
    : op === "undo" || op === "redo" ? (data) => data.start : undefined;
  operate({op, mode, side, edge}, next);
  button.blur();
});

api("GET", "/api/state").then((data) => {
  zh = data.zh; en = data.en; beads = data.rows;
  const all = document.createDocumentFragment();
  elements = beads.map(render);
  all.append(...elements);
  view.append(all);
  cursor = Math.min(data.cursor, beads.length - 1);
  moveCursor(cursor);
  showCounts(data);
  const realign = document.getElementById("realign");
  realign.disabled = !data.realign;
  if (data.note) realign.title = data.note;
  document.getElementById("paths").textContent =
    `Saving writes ${data.output} and ${data.index}; the journal is ${data.journal}.`;
  say(data.note || "? shows the keys");
  window.reviewReadyMs = performance.now();
  document.body.dataset.ready = "yes";
}).catch((error) => say(error.message, true));
