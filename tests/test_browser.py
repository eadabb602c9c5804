"""The upload page in a real browser: Debian chromium driven by Python playwright.

A Flask app over a tiny generated catalog (16 products, 4 scenes) runs on a free
loopback port; the test uploads a scene with people, checks hotspots (objects and
faces), that a face shows its skin tone range and never searches, that a hotspot,
a drawn box and the keyboard box search, that the diversity and skin tone toggles
reach the API, and that there are no console errors, no off-host requests and no
horizontal overflow at phone width (375 px).  Screenshots: ``bench/results/ui.png``
and the test's tmp dir.  Skipped only where ``/usr/bin/chromium`` is missing
(``make browser`` installs it).
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000        # the first query warms the models: seconds on 2 shared cores

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="/usr/bin/chromium is missing: run `make browser` (apt-get install chromium)")


@pytest.fixture
def served(lens_factory, tmp_path):
    """(base url, scene image path, the API requests' form fields as the server saw them)."""
    from flask import request
    from werkzeug.serving import make_server

    from lens.evaluation.common import read_manifest
    from lens.manifest import read_items
    from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
    from lens.synth import generate_catalog
    from web.app import create_app

    folder = tmp_path / "synth"
    generate_catalog(folder, products=16, scenes=4, seed=3, workers=1, progress=False)
    lens = lens_factory()
    report = run_indexing(read_items(folder), IndexMapper.from_lens(lens), CatalogWriter(lens.catalog),
                          progress=False)
    assert report.failures == []
    scene = next(r for r in read_manifest(folder) if r["kind"] == "scene" and r["people"])
    app = create_app(lens=lens)
    seen: list[dict] = []

    @app.before_request
    def record():
        if request.path == "/api/v1/lens":
            seen.append(request.form.to_dict())

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", folder / scene["image"], seen
    server.shutdown()
    thread.join(timeout=10)


def test_upload_page_in_chromium(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, photo, seen = served
    started = time.perf_counter()
    errors, offhost = [], []

    def lens_post(req):
        return req.url.endswith("/api/v1/lens") and req.method == "POST"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def guard(route):
            url = urlparse(route.request.url)
            if url.scheme in ("http", "https", "ws", "wss") and url.hostname != "127.0.0.1":
                offhost.append(route.request.url)
                return route.abort()
            return route.continue_()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
        page.goto(base + "/")
        expect(page.locator("#stage")).to_be_hidden()

        # 1. upload: the whole photo is searched; hotspots on objects and faces, results with badges
        with page.expect_response(lambda r: lens_post(r.request)) as upload:
            page.set_input_files("#file", str(photo))
        assert upload.value.status == 200
        body = upload.value.json()
        assert "box" not in seen[-1] and seen[-1]["diversity"] == "on" and "filters" not in seen[-1]
        expect(page.locator("#results-for")).to_have_text("Results for the photo")
        expect(page.locator("#grid li")).to_have_count(len(body["results"]))
        objects, faces = page.locator(".hotspot.object"), page.locator(".hotspot.face")
        assert objects.count() == sum(1 for r in body["regions"] if r.get("crop_box")) >= 1
        assert faces.count() >= 1
        assert page.locator("#grid .badge.visual").count() >= 1
        expect(page.locator("#understanding")).to_contain_text("Palette")
        expect(page.locator("#understanding .swatches li").first).to_be_visible()
        expect(page.locator("#understanding")).to_contain_text("Lighting")
        expect(page.locator("#understanding")).to_contain_text("Quality")
        ids_whole = page.locator("#grid li").evaluate_all("els => els.map(e => e.dataset.id)")

        # 2. a face shows its skin tone range in the panel and never searches
        asked = len(seen)
        faces.first.click()
        expect(page.locator("#understanding")).to_contain_text("skin tone")
        expect(page.locator("#understanding")).to_contain_text("never searches by a face")
        expect(page.locator("#status")).to_contain_text("faces are not searched")
        page.wait_for_timeout(300)
        assert len(seen) == asked, "clicking a face must not search"

        # 3. an object hotspot searches its crop: new request with a box, new heading
        name = objects.first.get_attribute("aria-label").removeprefix("Search ")
        with page.expect_response(lambda r: lens_post(r.request)) as hot:
            objects.first.click()
        assert hot.value.status == 200 and "box" in seen[-1]
        expect(page.locator("#results-for")).to_have_text(f"Results for {name}")
        ids_object = page.locator("#grid li").evaluate_all("els => els.map(e => e.dataset.id)")
        assert page.locator("#grid .matched").count() >= 1, "object results draw their matched box"
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
        shutil.copyfile(tmp_path / "ui.png", ROOT / "bench" / "results" / "ui.png")

        # 4. draw a box with the mouse over the photo's top-left quarter
        frame = page.locator("#preview").bounding_box()
        x0, y0 = frame["x"] + frame["width"] * 0.05, frame["y"] + frame["height"] * 0.05
        x1, y1 = frame["x"] + frame["width"] * 0.5, frame["y"] + frame["height"] * 0.5
        with page.expect_response(lambda r: lens_post(r.request)) as drawn:
            page.mouse.move(x0, y0)
            page.mouse.down()
            page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
            page.mouse.move(x1, y1, steps=4)
            page.mouse.up()
        assert drawn.value.status == 200
        box = [float(v) for v in seen[-1]["box"].split(",")]
        w, h = body["image"]["width"], body["image"]["height"]
        assert box == pytest.approx([0.05 * w, 0.05 * h, 0.5 * w, 0.5 * h], abs=0.03 * w), box
        expect(page.locator("#results-for")).to_contain_text("Results for the region")
        expect(page.locator("#selection")).to_be_visible()

        # 5. keyboard: "Select a region", arrows move the box, Enter searches
        page.locator("#draw").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#selection")).to_be_focused()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Shift+ArrowDown")
        with page.expect_response(lambda r: lens_post(r.request)) as keyed:
            page.keyboard.press("Enter")
        assert keyed.value.status == 200
        moved = [float(v) for v in seen[-1]["box"].split(",")]
        assert moved[0] > box[0] and moved[3] - moved[1] > box[3] - box[1]

        # 6. toggles reach the API: diversity off, then skin tone range 2 (MST 4-5)
        page.locator("#whole").click()
        expect(page.locator("#results-for")).to_have_text("Results for the photo")
        with page.expect_response(lambda r: lens_post(r.request)) as div:
            page.locator("#diversity").click()
        assert seen[-1]["diversity"] == "off" and div.value.json()["blend"]["diversity"] is False
        with page.expect_response(lambda r: lens_post(r.request)) as tone:
            page.get_by_label("Skin tone range 2, MST 4-5").check()
        assert json.loads(seen[-1]["filters"]) == {"skin_tone_range": [2]}
        assert tone.value.json()["filters"] == {"skin_tone_range": [2]}
        expect(page.locator("#results-for")).to_contain_text("skin tone range 2")
        page.locator("#diversity").focus()
        page.keyboard.press("Space")                          # keyboard toggles too
        page.wait_for_function("() => document.querySelector('#status').textContent.includes('diversity on')")
        assert seen[-1]["diversity"] == "on"

        # 6b. Complete the look: products that go with the scene, a heat map per suggested class
        with page.expect_response(lambda r: lens_post(r.request)) as completed:
            page.get_by_role("checkbox", name="Complete the look").check()
        done = completed.value.json()["complete"]
        assert seen[-1]["complete"] == "on" and done["items"] and done["asked"]
        expect(page.locator("#complete-look")).to_be_visible()
        expect(page.locator("#complete-grid li")).to_have_count(len(done["items"]))
        expect(page.locator("#complete-reason")).to_have_text(done["reason"])
        expect(page.locator("#attention")).to_be_visible()
        assert page.locator("#attention .heat").count() == len(done["attention"][done["asked"][0]])
        chips = page.locator("#complete-classes button")
        expect(chips).to_have_count(len(done["attention"]))
        chips.last.click()
        expect(chips.last).to_have_attribute("aria-pressed", "true")
        expect(chips.first).to_have_attribute("aria-pressed", "false")
        page.screenshot(path=str(tmp_path / "ui-complete.png"), full_page=True)

        page.screenshot(path=str(tmp_path / "ui-filtered.png"), full_page=True)

        # 7. phone width: no horizontal overflow, hotspots still reachable
        page.set_viewport_size({"width": 375, "height": 812})
        page.wait_for_timeout(200)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow} px of horizontal overflow at 375 px"
        assert objects.first.bounding_box()["x"] + 24 <= 375
        page.screenshot(path=str(tmp_path / "ui-375.png"), full_page=True)

        # 8. a blank upload: the panel says why nothing was measured
        blank = tmp_path / "blank.png"
        Image.fromarray(np.full((240, 320, 3), 255, np.uint8)).save(blank)
        with page.expect_response(lambda r: lens_post(r.request)) as white:
            page.set_input_files("#file", str(blank))
        assert white.value.status == 200
        expect(page.locator("#understanding .note")).to_contain_text("uniform image (all white)")
        expect(page.locator("#complete-reason")).to_contain_text("no outfit in the photo")   # a reason, not an error
        expect(page.locator("#complete-grid li")).to_have_count(0)
        browser.close()

    assert errors == [], errors
    assert offhost == [], offhost
    log.info("browser test: %.1f s; whole-photo ids %s, object ids %s; screenshots in %s",
             time.perf_counter() - started, ids_whole, ids_object, tmp_path)
