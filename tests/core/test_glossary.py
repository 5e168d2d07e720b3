"""Chinese polish: one term per concept (locales/glossary.json) and full-width punctuation next to
Chinese text, in every zh catalogue and in the engine's own Chinese sentences."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = json.loads((ROOT / "locales" / "glossary.json").read_text(encoding="utf-8"))["terms"]
CJK = "\u4e00-\u9fff"
# ASCII , : ; ! ? ( ) touching a Chinese character (placeholders like {name} are taken out first)
ASCII_NEXT_TO_CJK = re.compile(rf"(?<=[{CJK}])\s*[,:;!?()]|[,:;!?()]\s*(?=[{CJK}])")


def zh_catalogue_texts():
    for path in sorted((ROOT / "locales" / "zh").glob("*.json")):
        for key, text in json.loads(path.read_text(encoding="utf-8")).items():
            yield f"{path.name}:{key}", text


REGEX_MARKERS = re.compile(r"\\[dswbDSW]|\(\?|\||^\^|\$$|\[\^")


def _is_sentence(text):
    """A Chinese sentence or label, not a regular expression or an English text naming a Chinese word."""
    if REGEX_MARKERS.search(text):
        return False
    letters = [c for c in text if not c.isspace()]
    cjk = sum(1 for c in letters if re.match(f"[{CJK}]", c))
    return bool(letters) and cjk / len(letters) >= 0.3


def engine_zh_texts():
    """String literals with Chinese sentences in the engine (sentence templates, report words)."""
    literal = re.compile(r"""(?:"([^"\\\n]*(?:\\.[^"\\\n]*)*)"|'([^'\\\n]*(?:\\.[^'\\\n]*)*)')""")
    for path in sorted((ROOT / "churn_core").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in literal.finditer(line):
                text = m.group(1) or m.group(2) or ""
                if re.search(f"[{CJK}]", text) and _is_sentence(text):
                    yield f"{path.relative_to(ROOT)}:{n}", text


def _strip_placeholders(text):
    """Take out what is not prose: placeholders, rule syntax (``segment:NAME``) and data examples
    (``(1,234.56)``), which keep their ASCII characters on purpose."""
    text = re.sub(r"\{[^{}]*\}", "X", text)
    text = re.sub(r"segment:\S+?(?=[\s）。，]|$)", "X", text)
    return re.sub(r"\(-?[0-9][0-9.,]*\)", "X", text)


def test_glossary_terms_are_distinct_from_their_variants():
    for term in GLOSSARY:
        assert term["zh"] not in term["avoid"]


@pytest.mark.parametrize("term", GLOSSARY, ids=[t["en"] for t in GLOSSARY])
def test_one_chinese_term_per_concept(term):
    offenders = [where for where, text in [*zh_catalogue_texts(), *engine_zh_texts()]
                 if any(v in text for v in term["avoid"])]
    assert offenders == [], f"use {term['zh']!r} for {term['concept']!r}"


def test_the_catalogues_use_the_glossary_terms():
    everything = " ".join(text for _, text in zh_catalogue_texts())
    missing = [t["zh"] for t in GLOSSARY if t["zh"] not in everything]
    assert missing == []


def test_chinese_catalogues_use_full_width_punctuation():
    offenders = [where for where, text in zh_catalogue_texts() if ASCII_NEXT_TO_CJK.search(_strip_placeholders(text))]
    assert offenders == []


def test_engine_chinese_sentences_use_full_width_punctuation():
    offenders = [where for where, text in engine_zh_texts() if ASCII_NEXT_TO_CJK.search(_strip_placeholders(text))]
    assert offenders == []
