// Lens page stage: the photo with a hotspot per detected object (search it) and per face
// (skin tone only, never a search), plus a region box drawn by pointer drag or keyboard.
"use strict";

const MIN_SIDE = 0.03;    // a drawn box smaller than 3 % of the photo side is a click, not a box
const STEP = 0.02;        // arrow keys move or resize the box by 2 % of the photo side

const pct = (v, total) => (100 * v / total) + "%";
const iou = (a, b) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h, area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  return inter ? inter / (area(a) + area(b) - inter) : 0;
};

/**
 * frame: the element holding the photo; handlers: onObject(region, name), onFace(tone, name),
 * onRegion(box) (a drawn box, image pixels), status(text).
 */
export function createStage(frame, handlers) {
  const layer = frame.querySelector("#hotspots"), img = frame.querySelector("#preview");
  const sel = frame.querySelector("#selection");
  let size = null, box = null, drag = null;

  function place(el, b) {
    Object.assign(el.style, { left: pct(b[0], size.width), top: pct(b[1], size.height),
                              width: pct(b[2] - b[0], size.width), height: pct(b[3] - b[1], size.height) });
  }

  function outline(b) {
    let o = layer.querySelector(".region-outline");
    if (!o) { o = document.createElement("div"); o.className = "region-outline"; layer.prepend(o); }
    place(o, b);
    o.hidden = false;
  }

  function dot(b, cls, label, title, onClick) {
    const d = document.createElement("button");
    d.type = "button";
    d.className = "hotspot " + cls;
    d.style.setProperty("--x", pct((b[0] + b[2]) / 2, size.width));
    d.style.setProperty("--y", pct((b[1] + b[3]) / 2, size.height));
    d.setAttribute("aria-label", label);
    d.title = title;
    d.addEventListener("mouseenter", () => outline(b));
    d.addEventListener("focus", () => outline(b));
    d.addEventListener("click", () => {
      layer.querySelectorAll(".hotspot").forEach((x) => x.setAttribute("aria-pressed", "false"));
      d.setAttribute("aria-pressed", "true");
      outline(b);
      onClick();
    });
    d.setAttribute("aria-pressed", "false");
    layer.appendChild(d);
  }

  /** Hotspots for a whole-photo response: searchable objects, then faces. */
  function show(body) {
    size = body.image;
    layer.replaceChildren();
    clearBox();
    body.regions.filter((r) => r.crop_box).forEach((r, i) => {
      const name = `${r.label.replace(/_/g, " ")} ${i + 1}`;
      dot(r.box, "object " + r.source.split(".")[0], `Search ${name}`,
          `${name} (${Math.round(r.score * 100)}%, ${r.source})`, () => handlers.onObject(r, name));
    });
    const tones = (body.understanding.skin_tones || []).filter((t) => t.face_box);
    const used = new Set();
    const faces = body.regions.filter((r) => r.label === "face").map((r) => {
      let best = -1, bestIou = 0.1;
      tones.forEach((t, j) => { const v = iou(r.box, t.face_box); if (!used.has(j) && v > bestIou) { best = j; bestIou = v; } });
      if (best >= 0) used.add(best);
      return { box: r.box, tone: best >= 0 ? tones[best] : null };
    });
    tones.forEach((t, j) => { if (!used.has(j)) faces.push({ box: t.face_box, tone: t }); });
    faces.forEach((f, i) => {
      const name = `Face ${i + 1}`;
      const tone = f.tone && f.tone.status === "ok" ? `skin tone range ${f.tone.range}` : "skin tone unknown";
      dot(f.box, "face", `${name}: show skin tone range`, `${name}: ${tone} (not searchable)`,
          () => handlers.onFace(f.tone, name));
    });
  }

  // ---- the drawn box (image pixels) -------------------------------------------------
  function clamp(b) {
    const W = size.width, H = size.height;
    let [x1, y1, x2, y2] = b;
    const minW = MIN_SIDE * W, minH = MIN_SIDE * H;
    x2 = Math.max(x2, x1 + minW); y2 = Math.max(y2, y1 + minH);
    const w = Math.min(x2 - x1, W), h = Math.min(y2 - y1, H);
    x1 = Math.min(Math.max(0, x1), W - w); y1 = Math.min(Math.max(0, y1), H - h);
    return [x1, y1, x1 + w, y1 + h];
  }

  function setBox(b) {
    box = clamp(b);
    place(sel, box);
    sel.hidden = false;
  }

  function clearBox() { box = null; sel.hidden = true; }

  const rounded = () => box.map((v) => Math.round(v));

  function toImage(e) {
    const r = img.getBoundingClientRect();
    return [Math.min(Math.max(0, (e.clientX - r.left) / r.width), 1) * size.width,
            Math.min(Math.max(0, (e.clientY - r.top) / r.height), 1) * size.height];
  }

  frame.addEventListener("pointerdown", (e) => {
    if (!size || e.button !== 0 || e.target.closest(".hotspot")) return;
    e.preventDefault();
    const [x, y] = toImage(e);
    drag = { x, y, id: e.pointerId };
    frame.setPointerCapture(e.pointerId);
    frame.classList.add("drawing");
  });
  frame.addEventListener("pointermove", (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const [x, y] = toImage(e);
    setBox([Math.min(x, drag.x), Math.min(y, drag.y), Math.max(x, drag.x), Math.max(y, drag.y)]);
  });
  const end = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const [x, y] = toImage(e);
    const big = Math.abs(x - drag.x) >= MIN_SIDE * size.width && Math.abs(y - drag.y) >= MIN_SIDE * size.height;
    drag = null;
    frame.classList.remove("drawing");
    if (e.type === "pointerup" && big) handlers.onRegion(rounded());
    else if (!big) clearBox();
  };
  frame.addEventListener("pointerup", end);
  frame.addEventListener("pointercancel", end);

  sel.addEventListener("keydown", (e) => {
    if (!box) return;
    const dx = STEP * size.width, dy = STEP * size.height;
    const moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, -dy], ArrowDown: [0, dy] };
    if (moves[e.key]) {
      const [mx, my] = moves[e.key];
      const [x1, y1, x2, y2] = box;
      setBox(e.shiftKey ? [x1, y1, x2 + mx, y2 + my] : [x1 + mx, y1 + my, x2 + mx, y2 + my]);
      handlers.status(`Region ${rounded().join(", ")} px: Enter searches it`);
    } else if (e.key === "Enter" || e.key === " ") {
      handlers.onRegion(rounded());
    } else if (e.key === "Escape") {
      clearBox();
      handlers.status("Region removed");
      document.getElementById("draw").focus();
    } else return;
    e.preventDefault();
  });

  /** Keyboard entry point: a centred box (or the current one), focused for the arrow keys. */
  function startRegion() {
    if (!size) return;
    if (!box) setBox([size.width / 4, size.height / 4, size.width * 3 / 4, size.height * 3 / 4]);
    sel.focus();
    handlers.status("Region selected: arrow keys move it, Shift+arrow keys resize it, Enter searches it");
  }

  return { show, startRegion, clearBox, ready: () => size !== null };
}
