"""The study's page: one self-contained HTML file that opens from file:// with no server.

Images are embedded as PNG data; nothing else is loaded. The page holds each image's opaque
id and pixels, never its source: the key stays with the organiser (design.py). Answers are
kept in the browser's local storage under the study's id, so a reload resumes where the
reader was, and are downloaded as JSON at the end, with a SHA-256 over their canonical form
(answers.py checks it).

The SHA-256 is hand-written in the page: the page may load no library, and Web Crypto is
not available to every file:// page.
"""

from __future__ import annotations

import json
from html import escape

ANSWERS_FORMAT = "medbench-reader-study-answers/1"
PAGE_DISPLAY = 512  # target display size (px): the nearest integer zoom of the image

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
main { max-width: 900px; margin: 0 auto; padding: 1.5rem; text-align: center; }
section[hidden] { display: none; }
img#image { image-rendering: pixelated; background: #000; margin: 1rem auto; display: block; }
button { font-size: 1.1rem; margin: 0.25rem; padding: 0.5rem 1rem; border-radius: 6px;
         border: 1px solid #888; background: #2a2a2a; color: #eee; cursor: pointer; }
button.chosen { background: #2d6cdf; border-color: #9bbcff; }
button:disabled { opacity: 0.4; cursor: default; }
input { font-size: 1.1rem; padding: 0.4rem; }
.keys, .small { color: #aaa; font-size: 0.9rem; }
p.instructions { text-align: left; line-height: 1.5; }
"""

SCRIPT = r"""
"use strict";
const STUDY = JSON.parse(document.getElementById("study").textContent);
const KEY = "medbench-reader-study/" + STUDY.study;
const $ = (id) => document.getElementById(id);
let state = JSON.parse(localStorage.getItem(KEY) || "null");
let pending = null, shownAt = 0;

function save() { localStorage.setItem(KEY, JSON.stringify(state)); }

function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  const k = [], h = [];
  const frac = (x) => ((x - Math.floor(x)) * 4294967296) >>> 0;
  for (let n = 2, found = 0; found < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (!prime) continue;
    if (found < 8) h[found] = frac(Math.pow(n, 1 / 2));
    k[found++] = frac(Math.pow(n, 1 / 3));
  }
  const length = bytes.length, blocks = ((length + 9 + 63) >> 6) << 6;
  const data = new Uint8Array(blocks);
  data.set(bytes); data[length] = 0x80;
  const view = new DataView(data.buffer);
  view.setUint32(blocks - 8, Math.floor(length / 536870912));
  view.setUint32(blocks - 4, (length * 8) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < blocks; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  k[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0;
    h[3] = (h[3] + d) >>> 0; h[4] = (h[4] + e) >>> 0; h[5] = (h[5] + f) >>> 0;
    h[6] = (h[6] + g) >>> 0; h[7] = (h[7] + hh) >>> 0;
  }
  return h.map((x) => x.toString(16).padStart(8, "0")).join("");
}

function canonical(answers) {
  return [STUDY.study, state.reader, state.session]
    .concat(answers.map((a) => a.image + "," + a.call + "," + a.confidence)).join("\n");
}

function show() {
  const done = state.answers.length;
  $("intro").hidden = true;
  if (done >= STUDY.images.length) {
    $("trial").hidden = true; $("done").hidden = false;
    if (!state.finished_at) { state.finished_at = new Date().toISOString(); save(); }
    return;
  }
  $("trial").hidden = false; $("done").hidden = true;
  const image = STUDY.images[done];
  $("image").src = "data:image/png;base64," + image.png;
  $("image").width = image.width * STUDY.zoom;
  $("image").height = image.height * STUDY.zoom;
  $("progress").textContent = "Image " + (done + 1) + " of " + STUDY.images.length;
  $("bar").value = done;
  pending = null; shownAt = performance.now();
  document.querySelectorAll("button[data-call]").forEach((b) => b.classList.remove("chosen"));
  document.querySelectorAll("button[data-confidence]").forEach((b) => { b.disabled = true; });
  $("undo").disabled = done === 0;
}

function call(which) {
  pending = which;
  document.querySelectorAll("button[data-call]").forEach(
    (b) => b.classList.toggle("chosen", b.dataset.call === which));
  document.querySelectorAll("button[data-confidence]").forEach((b) => { b.disabled = false; });
}

function confidence(level) {
  if (pending === null || state.answers.length >= STUDY.images.length) return;
  state.answers.push({ image: STUDY.images[state.answers.length].id, call: pending,
                       confidence: level,
                       seconds: Math.round((performance.now() - shownAt) / 100) / 10 });
  save(); show();
}

function undo() {
  if (state.answers.length === 0) return;
  state.answers.pop(); delete state.finished_at; save(); show();
}

function download() {
  const answers = state.answers.map((a) => ({ image: a.image, call: a.call,
                                              confidence: a.confidence, seconds: a.seconds }));
  const file = { format: STUDY.format, study: STUDY.study, reader: state.reader,
                 session: state.session, started_at: state.started_at,
                 finished_at: state.finished_at, answers: answers,
                 sha256: sha256(canonical(answers)) };
  const blob = new Blob([JSON.stringify(file, null, 1)], { type: "application/json" });
  const link = document.createElement("a");
  const who = state.reader.replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 40) || "reader";
  link.href = URL.createObjectURL(blob);
  link.download = "answers-" + STUDY.study.slice(0, 8) + "-" + who + ".json";
  document.body.appendChild(link); link.click(); link.remove();
  $("saved").hidden = false;
}

function nextReader() {
  if (!confirm("Start the study again for another reader? Download these answers first.")) return;
  localStorage.removeItem(KEY); state = null;
  $("done").hidden = true; $("saved").hidden = true; $("intro").hidden = false;
  $("reader").value = ""; $("reader").focus();
}

function start() {
  const reader = $("reader").value.trim();
  if (!reader) { $("reader").focus(); return; }
  const session = Array.from(crypto.getRandomValues(new Uint8Array(8)),
                             (x) => x.toString(16).padStart(2, "0")).join("");
  state = { reader: reader, session: session, started_at: new Date().toISOString(),
            answers: [] };
  save(); show();
}

$("start").addEventListener("click", start);
$("reader").addEventListener("keydown", (e) => { if (e.key === "Enter") start(); });
document.querySelectorAll("button[data-call]").forEach(
  (b) => b.addEventListener("click", () => call(b.dataset.call)));
document.querySelectorAll("button[data-confidence]").forEach(
  (b) => b.addEventListener("click", () => confidence(Number(b.dataset.confidence))));
$("undo").addEventListener("click", undo);
$("download").addEventListener("click", download);
$("next-reader").addEventListener("click", nextReader);
document.addEventListener("keydown", (e) => {
  if (!state || $("trial").hidden || e.target.tagName === "INPUT") return;
  const key = e.key.toLowerCase();
  if (key === "r") call("real");
  else if (key === "s") call("synthetic");
  else if (key >= "1" && key <= "5") confidence(Number(key));
  else if (key === "u" || key === "backspace") undo();
});
$("bar").max = STUDY.images.length;
if (state && state.reader) { show(); } else { state = null; }
"""


def render_page(study_id: str, title: str, images: list[dict[str, object]], zoom: int,
                instructions: str) -> str:
    """The whole page. `images`: [{"id", "png" (base64), "width", "height"}] in showing
    order; nothing else about them."""
    payload = {"format": ANSWERS_FORMAT, "study": study_id, "zoom": zoom, "images": images}
    # "</" cannot end the JSON's script element early: it is escaped inside strings.
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    confidence = "".join(f'<button data-confidence="{level}" disabled>{level}</button>'
                         for level in range(1, 6))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
<section id="intro">
<p class="instructions">{escape(instructions)}</p>
<p><label>Your name or initials <input id="reader" autocomplete="off"></label>
<button id="start">Start</button></p>
</section>
<section id="trial" hidden>
<p id="progress" aria-live="polite"></p>
<progress id="bar" value="0"></progress>
<img id="image" alt="the image to judge">
<div><button data-call="real">Real (R)</button>
<button data-call="synthetic">Synthetic (S)</button></div>
<div>Confidence: {confidence}</div>
<p class="keys">Keys: R or S, then 1 (a guess) to 5 (certain). U undoes the last answer.
Answers are kept in this browser: closing or reloading the page loses nothing.</p>
<button id="undo">Undo (U)</button>
</section>
<section id="done" hidden>
<p>All images answered. Thank you.</p>
<button id="download">Download answers</button>
<p id="saved" class="small" hidden>Saved to your downloads folder: send that file to the
study's organiser.</p>
<p class="small">Another reader on this computer? Download first, then
<button id="next-reader">start again for the next reader</button></p>
</section>
</main>
<script id="study" type="application/json">{data}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
