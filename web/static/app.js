// Lens upload page: upload, show hotspots on detected regions, search a region.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("upload"), fileInput = $("file"), statusEl = $("status");
  let currentFile = null, lastBox = null;

  function setStatus(text) { statusEl.textContent = text; }

  async function search(box) {
    if (!currentFile) return;
    const data = new FormData();
    data.append("image", currentFile);
    data.append("k", $("k").value);
    if (box) data.append("box", box.map((v) => Math.round(v)).join(","));
    data.append("diversity", $("diversity").checked ? "on" : "off");
    const chosen = [...document.querySelectorAll("#controls .source:checked")].map((c) => c.value);
    if (chosen.length) data.append("sources", chosen.join(","));
    lastBox = box;
    setStatus(box ? "Searching the selected object…" : "Searching…");
    let body;
    try {
      const resp = await fetch("/api/v1/lens", { method: "POST", body: data });
      body = await resp.json();
      if (!resp.ok) { setStatus("Error: " + (body.error || resp.status)); return; }
    } catch (err) { setStatus("Error: " + err); return; }
    if (!box) { drawHotspots(body); showUnderstanding(body.understanding, "the photo"); }
    showResults(body.results);
    const mix = Object.entries(body.blend.ratios || {}).map(([n, w]) => `${n} ${Math.round(w * 100)}%`).join(", ");
    setStatus(`${body.results.length} results in ${Math.round(body.timings_ms.total)} ms · ${mix} — ${body.blend.reason}`);
  }

  function drawHotspots(body) {
    const layer = $("hotspots");
    layer.replaceChildren();
    const { width, height } = body.image;
    // One dot per searchable object (regions with a crop: never faces or whole people).
    const pct = (v, total) => (100 * v / total) + "%";
    const outline = document.createElement("div");
    outline.className = "region-outline";
    outline.hidden = true;
    layer.appendChild(outline);
    body.regions.filter((r) => r.crop_box).forEach((r, i) => {
      const [x1, y1, x2, y2] = r.box;
      const name = r.label.replace(/_/g, " ");
      const dot = document.createElement("button");
      dot.type = "button";
      dot.className = "hotspot " + r.source.split(".")[0];
      dot.style.left = pct((x1 + x2) / 2, width);
      dot.style.top = pct((y1 + y2) / 2, height);
      dot.setAttribute("aria-label", `Search ${name} ${i + 1}`);
      dot.title = `${name} (${Math.round(r.score * 100)}%, ${r.source})`;
      const show = () => {
        Object.assign(outline.style, {left: pct(x1, width), top: pct(y1, height),
                                      width: pct(x2 - x1, width), height: pct(y2 - y1, height)});
        outline.hidden = false;
      };
      dot.addEventListener("mouseenter", show);
      dot.addEventListener("focus", show);
      dot.addEventListener("click", () => {
        layer.querySelectorAll(".hotspot").forEach((d) => d.classList.remove("active"));
        dot.classList.add("active");
        show();
        if (r.understanding) showUnderstanding(r.understanding, `${name} ${i + 1}`);
        search(r.crop_box);
      });
      layer.appendChild(dot);
    });
  }

  function showUnderstanding(u, what) {
    const panel = $("understanding");
    panel.hidden = false;
    const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
    const swatches = (u.colors || []).map((c) =>
      `<li><span class="swatch" style="background:${esc(c.hex)}"></span>${esc(c.name)} ${Math.round(c.weight * 100)}%</li>`).join("");
    const chips = (u.annotations || []).slice(0, 8)
      .map((a) => `<li class="chip" title="${esc(a.kind)} ${a.score.toFixed(2)}">${esc(a.text)}</li>`).join("");
    const L = u.lighting || {}, Q = u.quality || {};
    const light = L.brightness !== undefined
      ? `Lighting: ${esc(L.cast)}, ~${L.color_temperature_k} K, brightness ${L.brightness.toFixed(2)}${L.low_light ? ", low light" : ""}` : "";
    const quality = Q.score !== undefined ? `Quality ${Q.score.toFixed(2)} (sharpness ${Math.round(Q.sharpness)})` : "";
    const MST = ["#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96", "#a07e56", "#825c43", "#604134", "#3a312a", "#292420"];
    const people = (u.skin_tones || []).filter((t) => t.status === "ok").map((t) =>
      `<li><span class="swatch" style="background:${MST[t.mst - 1]}"></span>skin tone range ${t.range}</li>`)
      .concat((u.body_types || []).filter((b) => b.status === "ok").map((b) =>
        `<li class="chip">body type range ${b.range}</li>`)).join("");
    panel.innerHTML = `<h2>What Lens sees in ${esc(what)}</h2><ul class="swatches">${swatches}</ul>` +
      `<ul class="chips">${chips}</ul>` + (people ? `<ul class="swatches people">${people}</ul>` : "") +
      `<p class="light">${light}</p><p class="light">${quality}</p>`;
  }

  function showResults(results) {
    const grid = $("grid");
    grid.replaceChildren();
    for (const r of results) {
      const li = document.createElement("li");
      li.innerHTML = `<img loading="lazy" alt="">` +
        `<p class="title"></p><p class="meta"><span class="source"></span> · ${r.score.toFixed(3)}</p>`;
      li.querySelector("img").src = r.image_url;
      li.querySelector("img").alt = r.title || r.id;
      li.querySelector(".title").textContent = r.title || r.id;
      li.querySelector(".source").textContent = r.sources.join(", ");
      grid.appendChild(li);
    }
  }

  function useFile(file) {
    if (!file) return;
    currentFile = file;
    $("preview").src = URL.createObjectURL(file);
    $("stage").hidden = false;
    search(null);
  }

  fileInput.addEventListener("change", () => useFile(fileInput.files[0]));
  document.querySelectorAll("#controls input").forEach((c) =>
    c.addEventListener("change", () => { if (currentFile) search(lastBox); }));
  $("whole").addEventListener("click", () => search(null));
  form.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") fileInput.click(); });
  ["dragenter", "dragover"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.remove("over"); }));
  form.addEventListener("drop", (e) => useFile(e.dataTransfer.files[0]));
})();
