"""The entry point routes, switches language, and the home page explains the product."""

from tests.app.conftest import ROOT
from streamlit.testing.v1 import AppTest


def test_home_page_in_english():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Retention Studio"
    assert at.sidebar.caption[0].value == "No data loaded yet"


def test_language_switch_turns_the_page_chinese():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lang"] = "en"
    at.run()
    at.sidebar.radio[0].set_value("简体中文").run()
    assert not at.exception
    assert at.title[0].value == "客户挽留工作室"
    assert at.markdown[1].value == "客户挽留工作室把一张普通的客户表变成流失预警和挽留方案。"


def test_sidebar_shows_the_loaded_dataset(sample_dataset):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lang"] = "en"
    at.session_state["workspace"] = __import__("churn_core.workspace", fromlist=["Workspace"]).Workspace().set_history(sample_dataset.load, roles=sample_dataset.roles)
    at.run()
    assert not at.exception
    assert at.sidebar.caption[0].value == "Loaded: customers\\.csv (20,000 customers)"
    book = at.session_state["workspace"].describe_book()
    assert at.sidebar.caption[1].value == f"Acting on: {book['customers']:,} active customers at 2024-12-31"


def test_home_links_to_the_data_page_in_both_languages():
    for lang, label in (("en", "Start with your data"), ("zh", "从您的数据开始")):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception
        links = [(el.proto.label, el.proto.page) for el in at.get("page_link")]
        assert links == [(label, "data")]


def test_sidebar_escapes_the_file_name(sample_dataset):
    from dataclasses import replace

    from churn_core.workspace import Workspace

    hostile = replace(sample_dataset.load, source_name="[click](http://evil.example)![x](http://evil.example/x.png)")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lang"] = "zh"
    at.session_state["workspace"] = Workspace().set_history(hostile, roles=sample_dataset.roles)
    at.run()
    assert not at.exception
    assert at.sidebar.caption[0].value == ("已加载：\\[click\\]\\(http\u2060\\://evil\\.example\\)\\!\\[x\\]\\(http\u2060\\://evil\\.example"
                                           "/x\\.png\\)（20,000 位客户）")
