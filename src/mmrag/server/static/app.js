// mmrag web page: plain JS over the HTTP API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const EXT = (hit) => ((hit.source.split("/").pop().split(".")[1] && hit.source.split(".").pop()) || hit.modality).slice(0, 5);
const state = { image: null, audio: null, hits: [], citations: [], terms: [] };

// ---------------------------------------------------------------- token
(function readToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    localStorage.setItem("mmrag-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);
  }
})();
const token = () => localStorage.getItem("mmrag-token") || "";
const authHeaders = () => (token() ? { Authorization: "Bearer " + token() } : {});
const withToken = (url) => (url && token() ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token()) : url);

// ---------------------------------------------------------------- helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
function marked(text, terms) {
  // the text as nodes, with the query's words marked where a word starts with them ("cat" marks "cats",
  // not the "cat" inside "modifications")
  const frag = document.createDocumentFragment();
  if (!text) return frag;
  if (!terms.length) { frag.append(text); return frag; }
  const re = new RegExp("(?<![\\p{L}\\p{N}])(" + terms.map(escapeRe).join("|") + ")", "giu");
  let last = 0;
  for (const m of text.matchAll(re)) {
    frag.append(text.slice(last, m.index), el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}
function excerpt(text, terms, n) {
  // the n characters of a long text that hold the most query words (a card shows a chunk's matching part,
  // not always its first lines), started at a sentence or word boundary, with "…" where text is cut
  if (!text || text.length <= n || !terms.length) return text && text.length > n ? text.slice(0, n) + "…" : text || "";
  const re = new RegExp("(?<![\\p{L}\\p{N}])(" + terms.map(escapeRe).join("|") + ")", "giu");
  const at = [...text.matchAll(re)].map((m) => m.index);
  if (!at.length) return text.slice(0, n) + "…";
  let best = 0, bestCount = -1, j = 0;
  for (let i = 0; i < at.length; i++) {  // windows that start a little before a match (at is sorted)
    const start = Math.max(0, at[i] - 40);
    let first = i;
    while (first > 0 && at[first - 1] >= start) first--;
    j = Math.max(j, i);
    while (j < at.length && at[j] < start + n - 20) j++;
    if (j - first > bestCount) { best = start; bestCount = j - first; }
  }
  if (best > 0) {  // back to where the sentence starts, if it is near; else to a word's start
    const stop = Math.max(text.lastIndexOf(". ", best + 40), text.lastIndexOf("\n", best + 40));
    best = stop >= best - 80 && stop >= 0 ? stop + 1 : Math.max(0, text.lastIndexOf(" ", best) + 1);
    while (best < text.length && /\s/.test(text[best])) best++;
  }
  const end = Math.min(text.length, best + n);
  return (best > 0 ? "…" : "") + text.slice(best, end) + (end < text.length ? "…" : "");
}
function queryTerms(q) {
  const stop = new Set(["the", "and", "for", "with", "what", "who", "how", "does", "did", "was", "are", "about", "from", "that", "this", "a", "an", "of", "in", "on", "is", "to"]);
  return (q || "").toLowerCase().match(/[\p{L}\p{N}]+/gu)?.filter((w) => w.length > 2 && !stop.has(w)) || [];
}
function setStatus(msg, isError = false) {
  $("status").textContent = msg;
  $("status").classList.toggle("error", isError);
}
async function errorText(r) {
  try { const j = await r.json(); return j.error || r.statusText; } catch { return r.statusText; }
}
function fmtBytes(n) {
  if (n == null) return "–";
  const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}

// ---------------------------------------------------------------- query form
function formData() {
  const fd = new FormData();
  const q = $("q").value.trim();
  if (q) fd.append("q", q);
  if (state.image) fd.append("image", state.image, state.image.name || "pasted.png");
  if (state.audio) fd.append("audio", state.audio, state.audio.name || "recording.webm");
  if ($("modality").value) fd.append("modality", $("modality").value);
  if ($("where").value.trim()) fd.append("where", $("where").value.trim());
  return fd;
}
function renderAttachments() {
  const box = $("attachments");
  box.replaceChildren();
  for (const kind of ["image", "audio"]) {
    const f = state[kind];
    if (!f) continue;
    const chip = el("span", { class: "attachment", "data-kind": kind });
    if (kind === "image") chip.append(el("img", { src: URL.createObjectURL(f), alt: "" }));
    chip.append(el("span", {}, (f.name || kind).slice(0, 18)),
      el("button", { type: "button", title: "Remove", onclick: () => { state[kind] = null; renderAttachments(); } }, "×"));
    box.append(chip);
  }
}
function attach(file) {
  if (!file) return;
  if (file.type.startsWith("image/")) state.image = file;
  else if (file.type.startsWith("audio/") || file.type.startsWith("video/")) state.audio = file;
  else { setStatus("only images and audio clips can be attached: " + (file.name || file.type), true); return; }
  renderAttachments();
  search();
}

// ---------------------------------------------------------------- search
async function search(ev) {
  if (ev) ev.preventDefault();
  const fd = formData();
  if (![...fd.keys()].some((k) => ["q", "image", "audio"].includes(k))) { setStatus("type something, or drop an image"); return; }
  fd.append("k", $("k").value);
  state.terms = queryTerms($("q").value);
  setStatus("searching…");
  const t0 = performance.now();
  const r = await fetch("/search", { method: "POST", body: fd, headers: authHeaders() });
  if (!r.ok) { setStatus(await errorText(r), true); return; }
  const body = await r.json();
  state.hits = body.hits;
  renderResults(body.hits);
  const notes = (body.notes || []).join(" ");
  setStatus(`${body.hits.length} result${body.hits.length === 1 ? "" : "s"} in ${Math.round(performance.now() - t0)} ms ${notes}`);
}

// which list found a hit, in words: "text->audio" is a typed query matched to a recording's sound
const FOUND = { text: "words", image: "pixels", visual: "pixels", audio: "sound", image_text: "words in the picture" };
function foundBy(hit) {
  const f = hit.found_by || "";
  if (f === "lexical") return "by keywords";
  const [from, to] = f.split("->");
  if (!to) return "";
  return from === to || (from === "image" && to === "visual") ? `by ${FOUND[to] || to}` : `${FOUND[from] || from} → ${FOUND[to] || to}`;
}
// a transcript found by a word the recogniser may also have heard ("10 of close" for "ten of clubs"):
// the alternative that holds a query word the transcript lacks, so the hit explains itself
function heardAlso(hit) {
  const alts = (hit.meta && hit.meta.heard_also) || "";
  if (!alts || !state.terms.length) return null;
  const hasWord = (text, t) => new RegExp("(?<![\\p{L}\\p{N}])" + escapeRe(t), "iu").test(text || "");
  const missing = state.terms.filter((t) => !hasWord(hit.text, t));
  const pick = alts.split(" / ").find((a) => missing.some((t) => hasWord(a, t)));
  return pick ? el("div", { class: "heard-also", title: "the recogniser may also have heard: " + alts }, "or heard: ", marked(pick, state.terms)) : null;
}
// a section's last two headings, where a narrow card has room ("… › 4.7 The PIC16 port › 4.7.6 Pragmas");
// the whole trail is the tooltip
function innermost(section) {
  const parts = section.split(" > ");
  return (parts.length > 2 ? "… › " : "") + parts.slice(-2).join(" › ");
}
function card(hit, i) {
  const thumb = el("div", { class: hit.page != null ? "thumb page" : "thumb" });
  if (hit.thumbnail_url) thumb.append(el("img", { src: withToken(hit.thumbnail_url), alt: hit.name, loading: "lazy" }));
  else if (hit.modality === "text" && hit.text) thumb.append(el("div", { class: "paper" }, marked(excerpt(hit.shown, state.terms, 260), state.terms)));
  else thumb.append(el("span", { class: "glyph " + hit.modality }, EXT(hit)));
  thumb.append(el("span", { class: "rank" }, String(i + 1)));
  const meta = el("div", { class: "meta" },
    el("div", { class: "row" }, el("span", { class: "badge " + hit.modality }, hit.modality),
      hit.where ? el("span", { class: "where-label", title: hit.where }, hit.where) : null,
      el("span", { class: "score", title: "calibrated score; channel: " + (hit.channel || "") }, hit.score.toFixed(2))),
    foundBy(hit) ? el("div", { class: "found-by", title: "the list that found it: " + hit.found_by }, foundBy(hit)) : null,
    el("div", { class: "name", title: hit.source }, hit.name),
    hit.section ? el("div", { class: "section", title: hit.section }, "§ " + innermost(hit.section)) : null);
  const paper = !hit.thumbnail_url && hit.modality === "text";
  if (hit.text && !paper) meta.append(el("div", { class: "snippet" }, marked(excerpt(hit.shown, state.terms, 300), state.terms)));
  const also = heardAlso(hit);
  if (also) meta.append(also);
  const c = el("button", { class: "card", type: "button", "data-segment": hit.segment_id, "data-modality": hit.modality }, thumb, meta);
  c.addEventListener("click", () => openHit(hit, c));
  return c;
}
function renderResults(hits) {
  const grid = $("results");
  grid.replaceChildren();
  if (!hits.length) { grid.append(el("div", { class: "empty" }, "no results")); return; }
  hits.forEach((h, i) => grid.append(card(h, i)));
}

// ---------------------------------------------------------------- viewer
function playSpan(media, t0, t1) {
  // start at t0, stop at t1 (the hit's span)
  const start = () => { media.currentTime = t0 || 0; media.play().catch(() => {}); };
  if (media.readyState >= 1) start(); else media.addEventListener("loadedmetadata", start, { once: true });
  if (t1 != null) {
    const stop = () => { if (media.currentTime >= t1) { media.pause(); media.removeEventListener("timeupdate", stop); } };
    media.addEventListener("timeupdate", stop);
  }
}
function openHit(hit, cardNode) {
  document.querySelectorAll(".card.active").forEach((n) => n.classList.remove("active"));
  const node = cardNode || document.querySelector(`.card[data-segment="${hit.segment_id}"]`);
  if (node) node.classList.add("active");
  $("viewer").hidden = false;
  $("viewer-title").textContent = hit.name + (hit.where ? " · " + hit.where : "");
  const body = $("viewer-body");
  body.replaceChildren();
  const media = withToken(hit.media_url);
  const links = el("div", { class: "links" });
  const ext = (hit.source.split(".").pop() || "").toLowerCase();
  if (hit.modality === "video" && media) {
    const v = el("video", { id: "player", controls: "", preload: "auto", playsinline: "", muted: "" , src: media });
    v.muted = true;
    body.append(v);
    playSpan(v, hit.t0, hit.t1);
  } else if (hit.modality === "audio" && media) {
    const a = el("audio", { id: "player", controls: "", preload: "auto", src: media });
    body.append(a);
    playSpan(a, hit.t0, hit.t1);
  } else if (hit.modality === "image" || (hit.thumbnail_url && hit.page != null)) {
    // a picture inside a document is shown from its thumbnail (every loader gives it a page, a slide,
    // a section or message number, or a figure number); only a picture file is the file itself
    const inside = hit.page != null || (hit.meta && hit.meta.figure);
    const src = inside || !media ? withToken(hit.thumbnail_url) : media;
    if (src) body.append(el("img", { src, alt: hit.name }));
  }
  if (hit.text) body.append(el("div", { class: "chunk" }, marked(hit.shown, state.terms)));
  const also = heardAlso(hit);
  if (also) body.append(also);
  if (media) {
    const href = ext === "pdf" && hit.page ? media + "#page=" + hit.page : media;
    links.append(el("a", { href, target: "_blank", rel: "noopener" }, ext === "pdf" ? `open the PDF at p. ${hit.page || 1}` : "open the file"));
  }
  links.append(el("span", { class: "row" }, hit.source));
  body.append(links);
  $("viewer").scrollIntoView({ block: "nearest" });
}
$("viewer-close").addEventListener("click", () => {
  const p = document.getElementById("player");
  if (p) p.pause();
  $("viewer").hidden = true;
});

// ---------------------------------------------------------------- ask (streamed)
function renderAnswer(text, citations) {
  const box = $("answer");
  box.replaceChildren();
  const byNumber = new Map((citations || []).map((c) => [c.number, c]));
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    box.append(text.slice(last, m.index));
    const n = Number(m[1]);
    const c = byNumber.get(n);
    if (c) box.append(el("a", { href: "#", class: "cite", "data-n": n, onclick: (e) => { e.preventDefault(); openHit(c); } }, `[${n}]`));
    else box.append(m[0]);
    last = m.index + m[0].length;
  }
  box.append(text.slice(last));
}
async function ask() {
  const fd = formData();
  if (![...fd.keys()].some((k) => ["q", "image", "audio"].includes(k))) { setStatus("type a question first"); return; }
  state.terms = queryTerms($("q").value);
  $("answer-panel").hidden = false;
  $("citations").replaceChildren();
  let text = "";
  renderAnswer("…", []);
  setStatus("thinking…");
  const r = await fetch("/ask", { method: "POST", body: fd, headers: authHeaders() });
  if (!r.ok) { setStatus(await errorText(r), true); renderAnswer("", []); return; }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
      const event = (block.match(/^event: (.*)$/m) || [])[1] || "message";
      const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "null");
      if (event === "token") { text += data.text; renderAnswer(text, []); }
      else if (event === "error") { setStatus(data.error, true); }
      else if (event === "answer") {
        state.citations = data.citations;
        renderAnswer(data.answer, data.citations);
        const list = $("citations");
        list.replaceChildren(...data.citations.map((c) => el("li", { value: c.number },
          el("a", { onclick: () => openHit(c), "data-n": c.number }, c.name + (c.where ? " · " + c.where : "") + (c.section ? " § " + innermost(c.section) : "")))));
        state.hits = data.context;
        renderResults(data.context);
        setStatus(`answered by ${data.generator} in ${(data.timings.generate_s + data.timings.search_s + data.timings.embed_s).toFixed(2)} s`);
      }
    }
  }
}

// ---------------------------------------------------------------- index panel
// what the panel says when older readers made the index (GET /info's readers < readers_now; ingest/readers.py)
function readersNote(i) {
  if (!(i.readers < i.readers_now) || !(i.segments_by_modality.text > 0)) return "";
  return `Read by older readers (${i.readers}, now ${i.readers_now}): files indexed before keep what they were read ` +
    'as (no sections under their results) until they change; run "mmrag add --reindex FOLDER" to read them again.';
}

async function loadInfo() {
  const r = await fetch("/info", { headers: authHeaders() });
  if (!r.ok) { $("index-toggle").textContent = "index: " + (await errorText(r)); return; }
  const i = await r.json();
  const total = Object.values(i.segments_by_modality).reduce((a, b) => a + b, 0);
  $("index-toggle").textContent = `${i.sources} files · ${total} segments`;
  const stat = (value, label) => el("div", { class: "stat" }, el("b", {}, String(value)), el("span", {}, label));
  const panel = $("index-panel");
  panel.replaceChildren(stat(i.sources, "files"),
    ...["text", "image", "audio", "video"].map((m) => stat(i.segments_by_modality[m] || 0, m + " segments")),
    stat(fmtBytes(i.disk_bytes), "on disk"),
    stat(i.space ? i.space.name + " · " + i.space.dim + "-d" : "none yet", "space"));
  const note = readersNote(i);
  if (note) panel.append(el("p", { class: "note" }, note));
}
$("index-toggle").addEventListener("click", () => {
  const p = $("index-panel");
  p.hidden = !p.hidden;
  $("index-toggle").setAttribute("aria-expanded", String(!p.hidden));
});

// ---------------------------------------------------------------- inputs: drop, paste, files, microphone
const zone = $("dropzone");
["dragenter", "dragover"].forEach((t) => document.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("drag"); }));
["dragleave", "drop"].forEach((t) => document.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("drag"); }));
document.addEventListener("drop", (e) => attach(e.dataTransfer && e.dataTransfer.files[0]));
document.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData?.items || [])].find((it) => it.kind === "file");
  if (item) { e.preventDefault(); attach(item.getAsFile()); }
});
$("image-file").addEventListener("change", (e) => attach(e.target.files[0]));
$("audio-file").addEventListener("change", (e) => attach(e.target.files[0]));
let recorder = null;
$("record").addEventListener("click", async () => {
  if (recorder) { recorder.stop(); return; }
  if (!navigator.mediaDevices?.getUserMedia) { setStatus("recording needs a secure page (localhost or HTTPS) and a microphone", true); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      $("record").classList.remove("recording");
      recorder = null;
      attach(new File(chunks, "recording.webm", { type: "audio/webm" }));
    };
    recorder.start();
    $("record").classList.add("recording");
    setStatus("recording… click the microphone again to stop");
  } catch (err) { setStatus("microphone: " + err.message, true); }
});
$("query").addEventListener("submit", search);
$("ask-btn").addEventListener("click", ask);
loadInfo();
