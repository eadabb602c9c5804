// Complete The Look on the upload page: products that go with the photo, and a heat map over the
// photo of the scene regions the model weighed for each class it suggests (the attention cells).
"use strict";

const words = (s) => String(s).replace(/_/g, " ");

/** Show the attention cells of one class over the photo (cells in original pixels). */
function showHeat(layer, cells, image) {
  layer.replaceChildren();
  for (const [x1, y1, x2, y2, w] of cells || []) {
    const cell = document.createElement("span");
    cell.className = "heat";
    Object.assign(cell.style, { left: (100 * x1 / image.width) + "%", top: (100 * y1 / image.height) + "%",
                                width: (100 * (x2 - x1) / image.width) + "%",
                                height: (100 * (y2 - y1) / image.height) + "%", opacity: (0.7 * w).toFixed(3) });
    layer.appendChild(cell);
  }
  layer.hidden = !(cells && cells.length);
}

function item(r) {
  const li = document.createElement("li");
  const thumb = document.createElement("div");
  thumb.className = "thumb";
  const img = document.createElement("img");
  img.loading = "lazy";
  img.src = r.image_url;
  img.alt = r.title || r.id;
  thumb.appendChild(img);
  const title = document.createElement("p");
  title.className = "title";
  title.textContent = r.title || r.id;
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = `${words(r.class)} · distance ${r.distance.toFixed(2)}`;
  li.dataset.id = r.id;
  li.append(thumb, title, meta);
  return li;
}

/** Render ``complete`` (the lens result's field, or null when not asked) into the section. */
export function showComplete(section, complete, image, layer) {
  section.hidden = !complete;
  layer.hidden = true;
  if (!complete) return;
  section.querySelector("#complete-reason").textContent = complete.reason;
  const grid = section.querySelector("#complete-grid");
  grid.replaceChildren(...complete.items.map(item));
  const chips = section.querySelector("#complete-classes");
  chips.replaceChildren();
  const classes = Object.keys(complete.attention || {});
  classes.forEach((c, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.textContent = words(c);
    b.setAttribute("aria-pressed", String(i === 0));
    b.title = `Where the photo was looked at for ${words(c)}`;
    b.addEventListener("click", () => {
      chips.querySelectorAll("button").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      showHeat(layer, complete.attention[c], image);
    });
    chips.appendChild(b);
  });
  if (classes.length) showHeat(layer, complete.attention[classes[0]], image);
}
