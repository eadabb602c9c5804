// Lens page rendering: the understanding panel (palette, lighting, quality, categories,
// skin tone, why signals abstained), a face's skin tone card, and the results grid (source badges, matched boxes).
"use strict";

// The Monk Skin Tone scale and our ranges, as the server defines them (lens.palette.skin_tone_scale)
const SCALE = JSON.parse(document.getElementById("skin-tone-scale").textContent);
export const MST = SCALE.mst;                                                     // hex of MST 1..10
export const RANGES = Object.fromEntries(SCALE.ranges.map((r) => [r.range, [r.first, r.last]]));   // range -> MST span

const esc = (t) => String(t).replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const pct = (v) => Math.round(v * 100) + "%";
const words = (s) => String(s).replace(/_/g, " ");

function rangeSwatches(range) {
  const [lo, hi] = RANGES[range] || [1, 0];
  let out = "";
  for (let m = lo; m <= hi; m++) out += `<span class="swatch" style="background:${MST[m - 1]}" title="MST ${m}"></span>`;
  return out;
}

/** One skin tone estimate as a list item (used by the panel and the face card). */
function toneItem(t, name) {
  if (t.status !== "ok") return `<li>${esc(name)}: skin tone unknown${t.reason ? " (" + esc(t.reason) + ")" : ""}</li>`;
  const [lo, hi] = RANGES[t.range];
  return `<li><span class="tone-swatches" aria-hidden="true">${rangeSwatches(t.range)}</span>` +
    `${esc(name)}: skin tone range ${t.range} (MST ${lo}-${hi})</li>`;
}

export function showUnderstanding(panel, u, what) {
  panel.hidden = false;
  const swatches = (u.colors || []).map((c) =>
    `<li><span class="swatch" style="background:${esc(c.hex)}"></span>${esc(c.name)} ${pct(c.weight)}</li>`).join("");
  const cats = (u.categories || []).slice(0, 6).map((c) =>
    `<li class="chip" title="${esc(c.kind)}">${esc(words(c.name))} ${pct(c.score)}</li>`).join("");
  const tags = (u.annotations || []).filter((a) => !["color", "coarse"].includes(a.kind)).slice(0, 6)
    .map((a) => `<li class="chip tag" title="${esc(a.kind)}">${esc(a.text)}</li>`).join("");
  const L = u.lighting || {}, Q = u.quality || {};
  const light = L.brightness !== undefined
    ? `Lighting: ${esc(L.cast)} cast, ~${esc(L.color_temperature_k)} K, brightness ${L.brightness.toFixed(2)}` +
      (L.low_light ? ", low light" : "") : "";
  const quality = Q.score !== undefined
    ? `Quality ${Q.score.toFixed(2)} (sharpness ${Math.round(Q.sharpness)}${Q.noise_sigma !== undefined ? ", noise " + Q.noise_sigma.toFixed(1) : ""})` : "";
  const tones = (u.skin_tones || []).filter((t) => t.face_box || t.status === "ok")
    .map((t, i) => toneItem(t, `Face ${i + 1}`));
  const bodies = (u.body_types || []).filter((b) => b.status === "ok")
    .map((b, i) => `<li class="chip">person ${i + 1}: body type range ${esc(b.range)}</li>`);
  const notes = (u.notes || []).map((n) => `<p class="light note">${esc(n)}</p>`).join("");
  panel.innerHTML = `<h2>What Lens sees in ${esc(what)}</h2>` + notes +
    `<h3>Palette</h3><ul class="swatches">${swatches || "<li>none</li>"}</ul>` +
    (cats ? `<h3>Categories</h3><ul class="chips">${cats}${tags}</ul>` : "") +
    (tones.length || bodies.length ? `<h3>People</h3><ul class="swatches people">${tones.join("")}</ul>` +
      (bodies.length ? `<ul class="chips">${bodies.join("")}</ul>` : "") : "") +
    (light ? `<p class="light">${light}</p>` : "") + (quality ? `<p class="light">${quality}</p>` : "");
}

/** A face hotspot's card: its skin tone range only. Faces are never a search query. */
export function showFace(panel, tone, name) {
  panel.hidden = false;
  const detail = tone && tone.status === "ok"
    ? `<p class="light">MST ${tone.mst} estimate, confidence ${Number(tone.confidence).toFixed(2)} (${esc(tone.method)})</p>` : "";
  panel.innerHTML = `<h2>${esc(name)}</h2><ul class="swatches people">` +
    toneItem(tone || { status: "unknown", reason: "no estimate for this face" }, "This face") + `</ul>${detail}` +
    `<p class="light">Lens never searches by a face. Use the skin tone filter to see people in a range.</p>`;
}

function badge(source) {
  const b = document.createElement("span");
  b.className = "badge " + source;
  b.textContent = source;
  return b;
}

/** The unique object boxes a result was matched on, in its own pixels. */
function objectBoxes(r) {
  const seen = new Map();
  for (const p of r.provenance || []) {
    if (p.source === "object" && Array.isArray(p.box)) seen.set(p.box.join(","), p);
  }
  return [...seen.values()].slice(0, 3);
}

export function showResults(grid, results) {
  grid.replaceChildren();
  for (const r of results) {
    const li = document.createElement("li");
    const name = r.title || r.id;
    const thumb = document.createElement("div");
    thumb.className = "thumb";
    const fit = document.createElement("div");
    fit.className = "fit";
    const w = r.width, h = r.height;
    if (w && h) fit.style.aspectRatio = `${w} / ${h}`;
    fit.classList.add(w && h && h > w ? "tall" : "wide");
    const img = document.createElement("img");
    img.loading = "lazy";
    img.src = r.image_url;
    img.alt = name;
    fit.appendChild(img);
    const boxes = w && h ? objectBoxes(r) : [];
    for (const p of boxes) {
      const [x1, y1, x2, y2] = p.box;
      const box = document.createElement("span");
      box.className = "matched";
      Object.assign(box.style, { left: (100 * x1 / w) + "%", top: (100 * y1 / h) + "%",
                                 width: (100 * (x2 - x1) / w) + "%", height: (100 * (y2 - y1) / h) + "%" });
      box.title = `matched ${words(p.label || "object")}`;
      fit.appendChild(box);
    }
    thumb.appendChild(fit);
    const title = document.createElement("p");
    title.className = "title";
    title.textContent = name;
    const meta = document.createElement("p");
    meta.className = "meta";
    const sources = document.createElement("span");
    sources.className = "badges";
    sources.setAttribute("aria-label", "found by " + r.sources.join(", "));
    r.sources.forEach((s) => sources.appendChild(badge(s)));
    meta.append(sources, ` ${r.score.toFixed(3)}`);
    if (r.loose) { li.classList.add("loose"); meta.append(" · loosely related"); }
    if (boxes.length) meta.append(` · matched ${words(boxes[0].label || "object")}`);
    li.dataset.id = r.id;
    li.append(thumb, title, meta);
    grid.appendChild(li);
  }
}
