"""lens.registry: one name -> builder helper, one error message; every registry in the project uses it."""
from __future__ import annotations

import pytest

from lens.registry import Registry


def test_lookup_build_and_the_one_error_message():
    reg = Registry("store.backend", {"sqlite": lambda x: ("sqlite", x)})
    reg.register("redis", lambda x: ("redis", x))

    @reg.register("memory")
    def memory(x):
        return ("memory", x)

    assert reg.build("redis", 1) == ("redis", 1) and reg["memory"] is memory
    assert sorted(reg) == ["memory", "redis", "sqlite"] and len(reg) == 3 and "sqlite" in reg
    with pytest.raises(ValueError, match=r"^store.backend 'nope': unknown \(valid: memory, redis, sqlite\)$"):
        reg["nope"]
    assert reg.check("sqlite") == "sqlite"


def test_an_empty_registry_names_no_valid_backend():
    with pytest.raises(ValueError, match=r"^x '': unknown \(valid: \)$"):
        Registry("x").check("")


@pytest.mark.parametrize("module, name", [("lens.embeddings", "EMBEDDERS"), ("lens.catalog.store", "STORES"),
                                          ("lens.text.terms", "ENCODERS"), ("lens.index.vectors", "INDEX_KINDS"),
                                          ("detection.backbones", "ARCHITECTURES"), ("blender.sources", "SOURCES")])
def test_every_backend_table_is_a_registry_with_its_setting_in_the_error(module, name):
    import importlib

    reg = getattr(importlib.import_module(module), name)
    assert isinstance(reg, Registry) and len(reg) >= 1
    with pytest.raises(ValueError, match=rf"^{reg.setting} 'no-such-backend': unknown \(valid: "):
        reg["no-such-backend"]
