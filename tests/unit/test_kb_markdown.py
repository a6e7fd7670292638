"""Article bodies: Markdown is rendered, and nothing executable survives the sanitizer."""

import re
from html.parser import HTMLParser

import pytest

from knowledge_base.markdown import render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<svg><script>alert(1)</script></svg>",
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="java&#x09;script:alert(1)">click</a>',
    "<a href=' javascript:alert(1)'>click</a>",
    "[click](<javascript:alert(1)>)",
    "<img src=x onerror=alert(1)>",
    '<p onclick="alert(1)">text</p>',
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
]


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def is_script_url(value: str) -> bool:
    return re.sub(r"[\x00-\x20]", "", value).lower().startswith(("javascript:", "vbscript:"))


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_executable_survives(attack):
    html = render_markdown(f"Before\n\n{attack}\n\nafter")
    elements = Elements(html).found
    assert not {tag for tag, _ in elements} & {"script", "svg", "iframe", "style"}, html
    attributes = [(name, value) for _, attrs in elements for name, value in attrs.items()]
    assert not [name for name, _ in attributes if name.startswith("on") or name == "style"]
    assert not [value for _, value in attributes if is_script_url(value)], html
    assert "<script" not in html.lower()


def test_markdown_is_rendered_to_html():
    html = render_markdown("# Returns\n\nWithin **30 days**:\n\n- unworn\n- with `<tags>`\n\n"
                           "| Fee | Amount |\n|---|---|\n| Return | 0 € |\n\n"
                           "[Policy](https://shop.example/returns)")
    assert "<h1>Returns</h1>" in html
    assert "<strong>30 days</strong>" in html
    assert "<li>with <code>&lt;tags&gt;</code></li>" in html
    assert "<td>Return</td>" in html
    assert '<a href="https://shop.example/returns" rel="noopener noreferrer">Policy</a>' in html


def test_an_empty_body_renders_empty():
    assert render_markdown("") == ""
