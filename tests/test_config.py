import pytest
import yaml

from lens.config import CONFIG_DIR, LensConfig, config_to_dict, load_config, parse_override

SHIPPED = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _leaves(data: dict, prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_the_shipped_configs_are_found():
    assert {"default", "demo"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_loads(name):
    config = load_config(name)
    assert isinstance(config, LensConfig)
    assert config.source_file.endswith(f"{name}.yaml")
    # every value the file sets is the value the config holds
    written = dict(_leaves(yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text())))
    loaded = dict(_leaves(config_to_dict(config)))
    assert written and {key: loaded.get(key) for key in written} == written


def test_demo_config_points_at_demo_catalog():
    assert load_config("demo").catalog.path == "data/demo/catalog"


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("index:\n  kind: flat\n  nprobe: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*unknown config key 'index.nprobe'"):
        load_config(path)


def test_unknown_section_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("indx: {}\n")
    with pytest.raises(ValueError, match="unknown config key 'indx'"):
        load_config(path)


@pytest.mark.parametrize("override, message", [
    ("query.k=many", "query.k: expected an integer"),
    ("detection.faces=3", "detection.faces: expected true/false"),
    ("server.port=[1]", "server.port: expected an integer"),
    ("query=3", "query: expected a mapping"),
    ("nokey", "expected key=value"),
])
def test_bad_values_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("default", [override])


def test_overrides_any_key():
    config = load_config("default", ["query.k=7", "store.backend=redis", "detection.face_min_score=0.3"])
    assert config.query.k == 7 and config.store.backend == "redis"
    assert config.detection.face_min_score == pytest.approx(0.3)


def test_int_accepted_for_float():
    assert load_config("default", ["detection.face_min_score=1"]).detection.face_min_score == 1.0


def test_missing_file_lists_configs(tmp_path):
    with pytest.raises(ValueError, match="no such file.*default"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("query: [unclosed\n")
    with pytest.raises(ValueError, match="broken.yaml: invalid YAML"):
        load_config(path)


def test_parse_override_yaml_values():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("a.b=x=y") == ("a.b", "x=y")
