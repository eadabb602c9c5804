"""Scene titles and descriptions, generated from the scene record (always truthful)."""
from __future__ import annotations

from lens.synth.compose import cutout

ROOM = {"wood": "wooden floor", "tiles": "tiled floor", "concrete": "concrete floor",
        "fabric": "carpet", "marble": "marble floor"}
FLAT = {"wood": "wooden table", "fabric": "linen cloth", "marble": "marble surface",
        "concrete": "concrete slab", "tiles": "tiled counter"}


def _name(seed: int, product_id: str) -> str:
    rec = cutout(seed, int(product_id[1:])).record
    return f"{rec['color']} {rec['render']['shape'].get('noun', rec['category'])}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def describe_scene(seed: int, rec: dict) -> tuple[str, str]:
    """(title, description) listing the scene's products, setting and people."""
    free = [_name(seed, o["product_id"]) for o in rec["objects"] if o["worn_by"] is None]
    seen, worn_by = set(), {}
    for o in rec["objects"]:
        if o["worn_by"] is not None and (o["worn_by"], o["product_id"]) not in seen:
            seen.add((o["worn_by"], o["product_id"]))
            worn_by.setdefault(o["worn_by"], []).append(_name(seed, o["product_id"]))
    if rec["layout"] == "room":
        setting = f"a room with a {ROOM[rec['background']]} and a {rec['wall']} wall"
    else:
        setting = f"a flat lay on a {FLAT[rec['background']]}"
    names = [n for k in sorted(worn_by) for n in worn_by[k]] + free
    title = f"{_join(names[:3]).capitalize()} in {setting.split(' with ')[0]}"
    parts = [f"Styled scene: {setting}."]
    for k, person in enumerate(rec["people"]):
        items = _join(worn_by.get(k, [])) or "neutral basics"
        parts.append(f"A person with a {person['body_type']} build (Monk skin tone {person['mst']}) "
                     f"wears {items}.")
    if free:
        parts.append(f"Also shown: {_join(free)}.")
    return title, " ".join(parts)
