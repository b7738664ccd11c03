"""Settings: the shipped TOML documents exactly the dataclass defaults; files and overrides."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from hiprom.config import Config, GeometrySettings, default_config_text
from hiprom.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTIONS = ["model", "video", "geometry", "signal", "movement", "quality", "recognition"]


def write(tmp_path, text: str, name: str = "my.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the shipped file and the dataclasses ------------------------------------------------------

def test_default_toml_documents_exactly_the_dataclass_defaults():
    doc = tomllib.loads(default_config_text())
    defaults = Config()
    assert list(doc) == SECTIONS
    assert [f.name for f in dataclasses.fields(Config)] == SECTIONS
    for section in SECTIONS:
        obj = getattr(defaults, section)
        fields = [f.name for f in dataclasses.fields(obj)]
        assert sorted(doc[section]) == sorted(fields), section
        for name in fields:
            in_file, default = doc[section][name], getattr(obj, name)
            if (section, name) == ("signal", "cutoff_hz"):
                assert in_file == 0 and default is None          # 0 in the file = automatic
            else:
                assert in_file == default, f"{section}.{name}: file {in_file!r} != default {default!r}"
                # same kind of value: a float default is not written as a bool or a string
                assert isinstance(in_file, bool) == isinstance(default, bool), f"{section}.{name}"
                assert isinstance(in_file, str) == isinstance(default, str), f"{section}.{name}"
    assert doc["geometry"]["roll_deg"] == "auto"
    assert doc == defaults.to_dict()


def test_default_file_loads_to_the_defaults(tmp_path):
    path = write(tmp_path, default_config_text())
    assert Config.from_toml(path) == Config()
    assert Config.from_toml(None) == Config()
    assert Config.from_toml(path).signal.cutoff_hz is None


def test_every_setting_is_commented_in_the_default_file():
    lines = default_config_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line or lines[i - 1].lstrip().startswith("#") or \
                any(lines[j].lstrip().startswith("#") for j in range(max(0, i - 3), i)), line


def test_to_dict():
    d = Config().to_dict()
    assert d["signal"]["cutoff_hz"] == 0
    assert d["geometry"]["roll_deg"] == "auto"
    assert Config().with_overrides({"signal.cutoff_hz": 4.5}).to_dict()["signal"]["cutoff_hz"] == 4.5
    assert Config().signal.cutoff_hz is None                # to_dict did not touch the config


# -- precedence -----------------------------------------------------------------------------------

def test_file_then_overrides(tmp_path):
    path = write(tmp_path, """
[signal]
cutoff_hz = 5.0
max_gap_s = 0.2
[model]
max_people = 1
variant = "lite"
[geometry]
roll_deg = 2.5
""")
    from_file = Config.from_toml(path)
    assert from_file.signal.cutoff_hz == 5.0 and from_file.signal.max_gap_s == 0.2
    assert from_file.model.max_people == 1 and from_file.model.variant == "lite"
    assert from_file.geometry.roll_deg == 2.5 and from_file.geometry.fixed_roll_deg == 2.5
    # untouched settings keep their defaults
    assert from_file.signal.min_visibility == Config().signal.min_visibility
    assert from_file.movement == Config().movement and from_file.quality == Config().quality

    final = from_file.with_overrides({"signal.cutoff_hz": 4.0, "model.max_people": None,
                                      "model.variant": None, "video.mirrored": True,
                                      "geometry.roll_deg": "auto"})
    assert final.signal.cutoff_hz == 4.0                  # flag beats file
    assert final.signal.max_gap_s == 0.2                  # file beats default
    assert final.model.max_people == 1 and final.model.variant == "lite"    # None: not given
    assert final.video.mirrored is True
    assert final.geometry.roll_deg == "auto" and final.geometry.fixed_roll_deg is None
    assert from_file.signal.cutoff_hz == 5.0              # configs are immutable


def test_cutoff_zero_means_automatic(tmp_path):
    assert Config.from_toml(write(tmp_path, "[signal]\ncutoff_hz = 0\n")).signal.cutoff_hz is None
    assert Config.from_toml(write(tmp_path, "[signal]\ncutoff_hz = 0.0\n")).signal.cutoff_hz is None
    set_ = Config().with_overrides({"signal.cutoff_hz": 6.0})
    assert set_.with_overrides({"signal.cutoff_hz": 0}).signal.cutoff_hz is None
    assert set_.with_overrides({"signal.cutoff_hz": None}).signal.cutoff_hz == 6.0


def test_nested_and_dotted_overrides_merge():
    c = Config().with_overrides({"movement": {"min_rest_s": 0.6, "min_hold_s": 0.5},
                                 "movement.hold_tolerance_deg": 1.5, "quality.max_roll_deg": 5})
    assert (c.movement.min_rest_s, c.movement.min_hold_s, c.movement.hold_tolerance_deg) == (0.6, 0.5, 1.5)
    assert c.quality.max_roll_deg == 5
    assert c.movement.still_velocity_deg_s == Config().movement.still_velocity_deg_s
    assert Config().with_overrides({}) == Config()
    assert Config().with_overrides({"model.max_people": None, "video": {}}) == Config()


def test_integers_are_accepted_for_float_settings(tmp_path):
    c = Config.from_toml(write(tmp_path, "[signal]\nmax_gap_s = 1\n[geometry]\nroll_deg = -3\n"))
    assert c.signal.max_gap_s == 1 and c.geometry.fixed_roll_deg == -3.0


# -- errors -----------------------------------------------------------------------------------------

def test_unknown_section_in_file(tmp_path):
    path = write(tmp_path, "[sigal]\ncutoff_hz = 3.0\n")
    with pytest.raises(ConfigError) as info:
        Config.from_toml(path)
    message = str(info.value)
    assert "[sigal]" in message and str(path) in message
    assert "model, video, geometry, signal, movement, quality, recognition" in message
    assert info.value.exit_code == 2


def test_unknown_key_in_file(tmp_path):
    path = write(tmp_path, "[signal]\ncutof_hz = 3.0\n")
    with pytest.raises(ConfigError) as info:
        Config.from_toml(path)
    message = str(info.value)
    assert "signal.cutof_hz" in message and str(path) in message
    for name in ("cutoff_hz", "default_cutoff_hz", "filter_order", "max_gap_s", "min_visibility"):
        assert name in message


def test_unknown_key_in_overrides():
    with pytest.raises(ConfigError, match=r"unknown setting model\.paht in the command line") as info:
        Config().with_overrides({"model.paht": "x.task"})
    assert "path" in info.value.fix and "max_people" in info.value.fix
    with pytest.raises(ConfigError, match=r"unknown section \[modle\]"):
        Config().with_overrides({"modle.path": "x.task"})
    with pytest.raises(ConfigError, match="unknown setting"):
        Config().with_overrides({"model": {"nope": 1}})


def test_top_level_key_outside_a_section(tmp_path):
    path = write(tmp_path, "max_people = 1\n[model]\nvariant = \"lite\"\n")
    with pytest.raises(ConfigError, match="'max_people' is not a \\[section\\]") as info:
        Config.from_toml(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text, bad", [
    ('[model]\nvariant = "huge"\n', "variant"),
    ("[model]\nmax_people = 0\n", "max_people"),
    ("[model]\nmax_people = 6\n", "max_people"),
    ("[model]\nmax_people = 1.5\n", "max_people"),
    ("[model]\nmin_detection_confidence = 1.2\n", "min_detection_confidence"),
    ('[model]\ndownload = "no"\n', "download"),
    ('[video]\nmirrored = "false"\n', "mirrored"),        # a string would read as true
    ("[video]\nqueue_size = 0\n", "queue_size"),
    ('[video]\ndecoder_threads = "many"\n', "decoder_threads"),
    ("[video]\ndecoder_threads = -1\n", "decoder_threads"),
    ("[video]\ndecoder_threads = 2.5\n", "decoder_threads"),
    ('[geometry]\nreference = "x"\n', "reference"),
    ('[geometry]\nroll_deg = "manual"\n', "roll_deg"),
    ("[geometry]\nroll_deg = 60\n", "roll_deg"),
    ("[geometry]\nroll_deg = true\n", "roll_deg"),
    ("[signal]\nmin_visibility = 2.0\n", "min_visibility"),
    ("[signal]\ncutoff_hz = -1.0\n", "cutoff_hz"),
    ("[signal]\nfilter_order = 3\n", "filter_order"),
    ('[signal]\nmax_gap_s = "0.3"\n', "max_gap_s"),
    ("[movement]\nexcursion_exit_deg = 7.0\n", "excursion_exit_deg"),
    ("[movement]\nmin_rest_s = 0\n", "min_rest_s"),
    ("[quality]\nmax_jitter_deg = [1, 2]\n", "max_jitter_deg"),
])
def test_bad_values_in_file(tmp_path, text, bad):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        Config.from_toml(path)
    message = str(info.value)
    assert bad in message and str(path) in message and "bad value" in message


@pytest.mark.parametrize("overrides", [
    {"model.variant": "huge"}, {"model.max_people": 0}, {"geometry.reference": "x"},
    {"video.mirrored": "yes"}, {"signal.filter_order": 5}, {"model.max_people": True},
])
def test_bad_values_in_overrides(overrides):
    with pytest.raises(ConfigError, match="bad value .* of the command line"):
        Config().with_overrides(overrides)


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[signal\ncutoff_hz = \n")
    with pytest.raises(ConfigError, match="is not valid TOML") as info:
        Config.from_toml(path)
    assert str(info.value).startswith(str(path))
    assert info.value.path == path


def test_config_file_not_utf8_or_missing(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[model]\npath = "mod\xe8le.task"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="is not valid TOML") as info:
        Config.from_toml(path)
    assert info.value.path == path
    with pytest.raises(ConfigError, match="does not exist") as info:
        Config.from_toml(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        Config.from_toml(tmp_path)                          # a folder is not a file


def test_settings_are_frozen():
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.model = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.signal.cutoff_hz = 3.0
    assert GeometrySettings(roll_deg=0).fixed_roll_deg == 0.0


@pytest.mark.parametrize("text, message", [
    ("[signal]\ncutoff_hz = nan\n", "cutoff_hz must be 0 (automatic) or a number above 0 and at most 100 Hz, got nan"),
    ("[signal]\nmax_gap_s = nan\n", "max_gap_s must be a number from 0 to 5 s, got nan"),
    ("[signal]\nmax_gap_s = inf\n", "max_gap_s must be a number from 0 to 5 s, got inf"),
    ("[movement]\nhold_tolerance_deg = nan\n", "hold_tolerance_deg must be a number above 0 and at most 30°, got nan"),
    ("[quality]\nmin_detected_fraction = 5\n", "min_detected_fraction must be a number from 0 to 1, got 5"),
    ("[quality]\nmax_yaw_deg = -5\n", "max_yaw_deg must be a number above 0 and at most 90°, got -5"),
    ("[quality]\nmax_jitter_deg = nan\n", "max_jitter_deg must be a number above 0 and at most 30°, got nan"),
    ("[geometry]\ncamera_fov_deg = nan\n", "camera_fov_deg must be a number from 20 to 150°, got nan"),
    ("[model]\nmin_tracking_confidence = nan\n", "min_tracking_confidence must be a number from 0 to 1, got nan"),
    ("[video]\nqueue_size = 100000\n", "queue_size must be a whole number from 1 to 1024, got 100000"),
])
def test_non_finite_and_out_of_range_settings_name_setting_range_and_file(tmp_path, text, message):
    """Every number is checked at load for finiteness and range (reliability issue, item 9):
    NaN passed the old ``x < 0`` checks and then produced nonsense."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        Config.from_toml(path)
    section = text[1:text.index("]")]
    assert str(info.value).startswith(f"bad value in [{section}] of the config file {path}: {message}")
    assert info.value.exit_code == 2


def test_nan_cutoff_on_the_command_line_is_refused():
    with pytest.raises(ConfigError, match="cutoff_hz must be 0 .automatic. or a number above 0 .*, got nan"):
        Config().with_overrides({"signal.cutoff_hz": float("nan")})
