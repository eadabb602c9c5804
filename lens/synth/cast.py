"""Casting for scenes: which people appear, how they are framed, what they wear.

Even-numbered scenes have people (q = index // 2 counts the people scenes;
every fourth has two people).  People are numbered across the catalog (n);
person n gets body type ``(n + n // 10) % 4`` and Monk Skin Tone
:func:`person_mst`: a seeded shuffle of 1-10 for each block of 10 people, so
every MST appears once per 10 people, meets every body type, and lands in
every place of the room.  (Generator 1.0 gave ``(n + seed) % 10 + 1``, which
repeats with the framing and slot pattern every 30 people: on seed 0 every
MST-3 face stood where the key light is dim -- mean gain 0.934 against
0.98-0.99 for MST 1-2 and 4-7 -- and that range's recall measured the room,
not the skin tone.)  Two framings, as in fashion photography:

* ``portrait`` (2 of 3 people scenes): waist-up, the face 135-150 px tall --
  large enough that mediapipe's full-range detector finds MST-8..10 faces as
  reliably as light ones (at ~95 px it missed 30-50 % of MST-9/10 faces);
  the person wears a catalog top or dress;
* ``full_body`` (1 of 3): an on-model shot cropped at the chin (no face in
  frame, ``face_box`` null) wearing a dress or top + trousers/skirt, and
  sometimes shoes; skin shows on neck, arms and legs.

Hats are never worn: anything on the hair cut MST-10 detection by ~20 %;
hats appear as free products instead.
"""
from __future__ import annotations

import numpy as np

from lens.synth.faces import face_asset
from lens.synth.people import BODY_NAMES, plan_person
from lens.synth.spec import CATEGORIES

_CAT_INDEX = {c["name"]: i for i, c in enumerate(CATEGORIES)}
MAX_OBJECTS = 6
SALT_MST = 11          # person_mst's stream, apart from the scene's own rng


def person_mst(seed: int, n: int) -> int:
    """Person ``n``'s Monk Skin Tone (1-10): place ``n % 10`` of block ``n // 10``'s shuffle."""
    return int(np.random.default_rng([seed, n // 10, SALT_MST]).permutation(10)[n % 10]) + 1


def pick_product(rng, category: str, n_products: int, used: set, admit=None) -> int | None:
    """A random unused product index of ``category`` (categories cycle with the index) that
    ``admit(index)`` accepts (a styled scene's rule: :mod:`lens.synth.styles`; None: any)."""
    ci = _CAT_INDEX[category]
    options = [i for i in range(ci, n_products, len(CATEGORIES)) if i not in used and (admit is None or admit(i))]
    if not options:
        return None
    choice = int(options[int(rng.integers(0, len(options)))])
    used.add(choice)
    return choice


def _outfit(rng, framing: str, n_products: int, used: set, admit=None) -> list[tuple[str, int]]:
    """Worn (category, product index) pairs for one person."""
    if rng.random() < 0.35:
        wanted = ["dress"]
    elif framing == "portrait":
        wanted = ["top"]
    else:
        wanted = ["top", "trousers" if rng.random() < 0.55 else "skirt"]
    if framing == "full_body" and rng.random() < 0.5:
        wanted.append("shoe")
    out = []
    for cat in wanted:
        idx = pick_product(rng, cat, n_products, used, admit)
        if idx is not None:
            out.append((cat, idx))
    return out


def _figure(rng, framing: str, height_px: int) -> tuple[float, float, float]:
    """(face height, figure height, top y) in pixels for a framing."""
    if framing == "portrait":
        face = rng.uniform(135, 150)
        return face, face * rng.uniform(4.5, 4.8), rng.uniform(4, 16)
    face = rng.uniform(90, 100)
    fb = face_asset()["face_box"]
    chin_offset = fb[3] / (fb[3] - fb[1]) * face
    top = rng.uniform(-12, 0) - chin_offset
    return face, rng.uniform(height_px - 18, height_px - 6) - top, top


def plan_people(rng, seed: int, index: int, n_products: int, used: set, width: int,
                height: int, admit=None) -> list[dict]:
    """People for scene ``index`` (none for odd scenes): plan, framing and outfit each."""
    if index % 2:
        return []
    q = index // 2
    framing = "full_body" if q % 3 == 2 else "portrait"
    count = 2 if q % 4 == 1 else 1
    slots = [rng.uniform(0.3, 0.7)] if count == 1 else [rng.uniform(0.22, 0.3), rng.uniform(0.7, 0.78)]
    first = q + (q + 2) // 4             # people in earlier scenes (q' % 4 == 1 have two)
    people = []
    for k, frac in enumerate(slots):
        n = first + k
        mst = person_mst(seed, n)
        body = BODY_NAMES[(n + n // 10) % len(BODY_NAMES)]
        face, fig_h, top = _figure(rng, framing, height)
        plan = plan_person(rng, mst, body, frac * width, fig_h, top, face, framing)
        people.append({"plan": plan, "outfit": _outfit(rng, framing, n_products, used, admit)})
    _trim(people)
    return people


def _trim(people: list[dict]) -> None:
    """Drop shoes, then bottoms, so worn objects (shoes count twice) stay <= MAX_OBJECTS."""
    def count():
        return sum(2 if c == "shoe" else 1 for p in people for c, _ in p["outfit"])
    for drop in ("shoe", "skirt", "trousers"):
        for p in people[::-1]:
            if count() > MAX_OBJECTS:
                p["outfit"] = [(c, i) for c, i in p["outfit"] if c != drop]


def person_box(plan: dict, height: int) -> tuple[float, float, float, float]:
    """The area a planned person may cover (free products keep out of it)."""
    half = 0.24 * plan["height"]
    return (plan["cx"] - half, max(plan["top"], 0.0), plan["cx"] + half, float(height))
