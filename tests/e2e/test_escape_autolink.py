"""escape_md vs GFM autolinks (no browser): backslash escapes do not stop Streamlit's Markdown from
turning ``http://…``, ``www.…`` and ``a@b.c`` into links (seen in Chromium by test_injection.py on
the Model page's label line); escape_md breaks them with an invisible word joiner (U+2060)."""

from studio.ui import escape_md

WJ = "\u2060"


def test_a_url_in_user_text_is_broken_before_its_scheme_separator():
    assert escape_md("src=http://127.0.0.2:9/l.png") == "src=http" + WJ + "\\://127\\.0\\.0\\.2\\:9/l\\.png"


def test_https_and_upper_case_schemes_are_broken_too():
    assert escape_md("HTTPS://x.org") == "HTTPS" + WJ + "\\://x\\.org"


def test_a_www_address_is_broken_inside_www():
    assert escape_md("www.evil.com") == "ww" + WJ + "w\\.evil\\.com"
    assert escape_md("WWW.evil.com") == "WW" + WJ + "W\\.evil\\.com"


def test_an_email_address_is_broken_before_the_at_sign():
    assert escape_md("a@evil.org") == "a" + WJ + "@evil\\.org"


def test_plain_text_gets_no_joiner():
    assert escape_md("Balance 1,234.5 (EUR)") == "Balance 1,234\\.5 \\(EUR\\)"
    assert WJ not in escape_md("客户 流失: 是")
