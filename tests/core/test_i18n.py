"""Both catalogues have the same keys, real Chinese text, and matching placeholders."""

import json
import re
import string
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parents[2] / "locales"
AREAS = sorted(p.name for p in (LOCALES / "en").glob("*.json"))


def _load(lang, area):
    return json.loads((LOCALES / lang / area).read_text(encoding="utf-8"))


def _fields(text):
    return sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})


def test_every_area_exists_in_both_languages():
    assert AREAS, "no catalogues found"
    assert sorted(p.name for p in (LOCALES / "zh").glob("*.json")) == AREAS


@pytest.mark.parametrize("area", AREAS)
def test_same_keys_in_english_and_chinese(area):
    en, zh = _load("en", area), _load("zh", area)
    assert sorted(set(en) - set(zh)) == []
    assert sorted(set(zh) - set(en)) == []


@pytest.mark.parametrize("area", AREAS)
def test_same_placeholders_in_english_and_chinese(area):
    en, zh = _load("en", area), _load("zh", area)
    mismatched = [k for k in en if _fields(en[k]) != _fields(zh.get(k, ""))]
    assert mismatched == []


@pytest.mark.parametrize("area", AREAS)
def test_chinese_catalogue_is_chinese(area):
    zh = _load("zh", area)
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert sum(bool(cjk.search(v)) for v in zh.values()) >= 0.8 * len(zh)


def test_keys_are_unique_across_areas():
    seen = {}
    clashes = []
    for area in AREAS:
        for key in _load("en", area):
            if key in seen:
                clashes.append((key, seen[key], area))
            seen[key] = area
    assert clashes == []
