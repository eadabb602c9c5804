// Lens upload page: upload, show hotspots on detected regions, search a region.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("upload"), fileInput = $("file"), statusEl = $("status");
  let currentFile = null;

  function setStatus(text) { statusEl.textContent = text; }

  async function search(box) {
    if (!currentFile) return;
    const data = new FormData();
    data.append("image", currentFile);
    data.append("k", $("k").value);
    if (box) data.append("box", box.map((v) => Math.round(v)).join(","));
    setStatus(box ? "Searching the selected object…" : "Searching…");
    let body;
    try {
      const resp = await fetch("/api/v1/lens", { method: "POST", body: data });
      body = await resp.json();
      if (!resp.ok) { setStatus("Error: " + (body.error || resp.status)); return; }
    } catch (err) { setStatus("Error: " + err); return; }
    if (!box) drawHotspots(body);
    showUnderstanding(body.understanding);
    showResults(body.results);
    setStatus(`${body.results.length} results in ${Math.round(body.timings_ms.total)} ms`);
  }

  function drawHotspots(body) {
    const layer = $("hotspots");
    layer.replaceChildren();
    const { width, height } = body.image;
    body.regions.forEach((r, i) => {
      const [x1, y1, x2, y2] = r.box;
      const dot = document.createElement("button");
      dot.type = "button";
      dot.className = "hotspot " + r.label;
      dot.style.left = (100 * (x1 + x2) / 2 / width) + "%";
      dot.style.top = (100 * (y1 + y2) / 2 / height) + "%";
      dot.setAttribute("aria-label", `Search ${r.label} ${i + 1}`);
      dot.title = `${r.label} (${Math.round(r.score * 100)}%)`;
      dot.addEventListener("click", () => {
        layer.querySelectorAll(".hotspot").forEach((d) => d.classList.remove("active"));
        dot.classList.add("active");
        search(r.box);
      });
      layer.appendChild(dot);
    });
  }

  function showUnderstanding(u) {
    const panel = $("understanding");
    panel.hidden = false;
    const swatches = u.colors.map((c) =>
      `<li><span class="swatch" style="background:${c.hex}"></span>${c.name} ${Math.round(c.weight * 100)}%</li>`).join("");
    const cats = u.categories.filter((c) => c.kind === "coarse")
      .map((c) => `<li class="chip">${c.name}</li>`).join("");
    const light = u.lighting.brightness !== undefined
      ? `brightness ${u.lighting.brightness.toFixed(2)}, contrast ${u.lighting.contrast.toFixed(2)}` : "";
    panel.innerHTML = `<h2>What Lens sees</h2><ul class="swatches">${swatches}</ul>` +
      `<ul class="chips">${cats}</ul><p class="light">${light}</p>`;
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
  $("whole").addEventListener("click", () => search(null));
  form.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") fileInput.click(); });
  ["dragenter", "dragover"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.remove("over"); }));
  form.addEventListener("drop", (e) => useFile(e.dataTransfer.files[0]));
})();
