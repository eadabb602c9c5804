// Lens upload page: upload a photo, search it (whole, a hotspot's object or a drawn box)
// with the chosen sources, diversity and skin tone filter, and Complete The Look when ticked;
// see stage.js, render.js and complete.js.
"use strict";
import { createStage } from "./stage.js";
import { showFace, showResults, showUnderstanding } from "./render.js";
import { showComplete } from "./complete.js";

const $ = (id) => document.getElementById(id);
const form = $("upload"), statusEl = $("status"), panel = $("understanding"), heading = $("results-for");
let currentFile = null, last = { box: null, what: "the photo" }, pending = null, lastBody = null;

const setStatus = (text) => { statusEl.textContent = text; };

function filters() {
  const ranges = [...document.querySelectorAll("#skin-filter .skin-range:checked")].map((c) => Number(c.value));
  return ranges.length ? { skin_tone_range: ranges } : null;
}

/** POST the photo (and a box: image pixels) to the lens endpoint; render what comes back. */
async function search(box, what, loose = false) {
  if (!currentFile) return;
  const data = new FormData();
  data.append("image", currentFile);
  data.append("k", $("k").value);
  if (box) data.append("box", box.map((v) => Math.round(v)).join(","));
  data.append("diversity", $("diversity").checked ? "on" : "off");
  if (loose) data.append("loose", "on");
  if ($("complete").checked) data.append("complete", "on");
  const chosen = [...document.querySelectorAll("#controls .source:checked")].map((c) => c.value);
  if (chosen.length) data.append("sources", chosen.join(","));
  const f = filters();
  if (f) data.append("filters", JSON.stringify(f));
  last = { box, what };
  if (pending) pending.abort();
  const ctrl = pending = new AbortController();
  setStatus(`Searching ${what}…`);
  $("results").setAttribute("aria-busy", "true");
  let body;
  try {
    const resp = await fetch("/api/v1/lens", { method: "POST", body: data, signal: ctrl.signal });
    body = await resp.json();
    if (!resp.ok) { setStatus("Error: " + (body.error || resp.status)); return; }
  } catch (err) {
    if (err.name !== "AbortError") setStatus("Error: " + err.message);
    return;
  } finally {
    if (pending === ctrl) { pending = null; $("results").removeAttribute("aria-busy"); }
  }
  if (!box) { lastBody = body; stage.show(body); }
  showUnderstanding(panel, body.understanding, what);
  showResults($("grid"), body.results);
  showComplete($("complete-look"), body.complete, body.image, $("attention"));
  showFloor(body.blend.relevance, () => search(box, what, true));
  heading.hidden = false;
  heading.textContent = `Results for ${what}` + (f ? ` · skin tone range ${f.skin_tone_range.join(", ")}` : "");
  const mix = Object.entries(body.blend.ratios || {}).map(([n, w]) => `${n} ${Math.round(w * 100)}%`).join(", ");
  const cat = body.blend.category ? ` · looks like ${body.blend.category.name}` : "";
  const dims = body.blend.dimensions || [];
  const names = {color: "colour", skin_tone: "skin tone", body_type: "body type"};
  const over = dims.length ? ` over ${dims.map((d) => names[d] || d).join(", ")}` : ", no dimension applies";
  const div = body.blend.diversity ? `diversity on${over}` : "diversity off";
  const why = body.blend.diversity_reason ? ` (${body.blend.diversity_reason})` : "";
  setStatus(`${body.results.length} results in ${Math.round(body.timings_ms.total)} ms · ${mix}` +
            ` · ${div}${why}${cat} — ${body.blend.reason}`);
}

/** "No close matches": the relevance floor left everything out; offer the loosely related ones. */
function showFloor(relevance, askLoose) {
  const note = $("no-close");
  const none = relevance && relevance.message && !relevance.loose_shown;
  note.hidden = !(relevance && relevance.message);
  $("show-loose").hidden = !(none && relevance.below_floor > 0);
  $("show-loose").onclick = askLoose;
  if (relevance && relevance.message) {
    note.firstChild.textContent = relevance.loose_shown
      ? `No close matches: ${relevance.loose_shown} loosely related below. `
      : "No close matches in this catalog. ";
  }
}

const stage = createStage($("frame"), {
  onObject(region, name) {
    stage.clearBox();
    if (region.understanding) showUnderstanding(panel, region.understanding, name);
    search(region.crop_box, name);
  },
  onFace(tone, name) {                      // skin tone info only: never a search by face
    showFace(panel, tone, name);
    setStatus(`${name}: ${tone && tone.status === "ok" ? "skin tone range " + tone.range : "skin tone unknown"}` +
              " (faces are not searched)");
  },
  onRegion(box) { search(box, `the region ${box.join(", ")}`); },
  status: setStatus,
});

function useFile(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith("image/")) { setStatus(`${file.name}: not an image`); return; }
  currentFile = file;
  const preview = $("preview");
  if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  $("stage").hidden = false;
  $("hotspots").replaceChildren();
  stage.clearBox();
  search(null, "the photo");
}

["file", "camera"].forEach((id) => $(id).addEventListener("change", (e) => useFile(e.target.files[0])));
document.querySelectorAll("#controls input, #skin-filter input").forEach((c) =>
  c.addEventListener("change", () => {
    if (c.classList.contains("source") && !document.querySelector("#controls .source:checked")) {
      c.checked = true;                     // no sources would mean all of them: keep one
      setStatus("Keep at least one source");
      return;
    }
    if (currentFile) search(last.box, last.what);
  }));
$("whole").addEventListener("click", () => { stage.clearBox(); search(null, "the photo"); });
$("draw").addEventListener("click", () => stage.startRegion());
["dragenter", "dragover"].forEach((t) => form.addEventListener(t, (e) => {
  e.preventDefault(); form.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => form.addEventListener(t, (e) => {
  e.preventDefault(); form.classList.remove("over"); }));
form.addEventListener("drop", (e) => useFile(e.dataTransfer.files[0]));
window.lensPage = { get last() { return last; }, get body() { return lastBody; } };   // for tests and debugging
