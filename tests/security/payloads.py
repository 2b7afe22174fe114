"""Hostile text (markup, SQL, template and format-string syntax, a 10 000-character string, invisible
and control characters, spreadsheet formulas) and the checks that a page, an e-mail, a JSON document
or an export shows it as plain text and runs none of it. Shared by test_payloads.py and the browser test."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape


@dataclass(frozen=True)
class Payload:
    key: str
    text: str
    spreadsheets_only: bool = False  # tried only in fields that reach a spreadsheet (export or import)

    def __str__(self) -> str:
        return self.key


LONG_TEXT = ("Lorem ipsum " * 833) + "fin!"  # 10 000 characters, words a search index can cut
assert len(LONG_TEXT) == 10_000

PAYLOADS = [
    Payload("script", '<script>alert("x1")</script>'),
    Payload("img_onerror", '"><img src=x onerror=alert("x2")>'),
    Payload("javascript_url", 'javascript:alert("x3")'),
    Payload("sql_drop", "'; DROP TABLE listing; --"),
    Payload("sql_or", "' OR '1'='1"),
    Payload("jinja_expression", "{{7*7}}"),
    Payload("jinja_statement", "{% raw %}{{ config }}{% endraw %}{% for x in [1] %}boucle{% endfor %}"),
    Payload("format_named", "%(email)s"),
    Payload("format_positional", "%s %d {0} {email}"),
    Payload("long", LONG_TEXT),
    Payload("unicode", "\u202eRTL\u202c zéro\u200blargeur\u200d\ufeff fin"),
    Payload("nul", "avant\x00après"),
    Payload("line_break", "Ligne 1\r\nBcc: pirate@example.com"),  # e-mail header injection
    # Formula starters: "=" everywhere (as any other text, it must read as typed); "+", "-" and "@" in
    # the fields that reach a spreadsheet, where each must be neutralised.
    Payload("formula_hyperlink", '=HYPERLINK("http://x")'),
    Payload("formula_plus", "+cmd", spreadsheets_only=True),
    Payload("formula_minus", "-1+1", spreadsheets_only=True),
    Payload("formula_at", "@SUM(1)", spreadsheets_only=True),
]
BY_KEY = {p.key: p for p in PAYLOADS}
FORMULA_STARTS = ("=", "+", "-", "@")

# What must never reach a browser as markup.
RAW_MARKUP = ('<script>alert("x1")', "<img src=x onerror", 'onerror=alert("x2")>')
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}


class _Page:
    """Text, elements and inline scripts of an HTML page, character references decoded. Read with
    regular expressions (html.parser took a third of these tests' time): our pages are well formed,
    and a raw "<" where text belongs would itself be markup injection, which the checks report."""

    def __init__(self, html: str):
        self.html = html
        self.scripts = [(_attributes(m[1]), m[2]) for m in _SCRIPT.finditer(html)]
        rest = _SCRIPT.sub(" ", _COMMENT.sub("", html))
        self.elements = [(m[1].lower(), _attributes(m[2])) for m in _TAG.finditer(rest)]
        self.attribute_values = [value for _tag, attributes in self.elements for value in attributes.values()]
        self.visible = unescape(_ANY_TAG.sub("", rest))
        # Text the page's scripts show (map tooltips, chart labels) comes in JSON data blocks.
        self.data_strings = [text for attributes, body in self.scripts if attributes.get("type") == "application/json"
                             for text in _strings(_json_or_none(body))]


def _json_or_none(body: str):
    try:
        return json.loads(body)
    except ValueError:
        return None


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<([a-zA-Z][^\s/>]*)((?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>")
_ATTRIBUTE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_ANY_TAG = re.compile(r"<[!/?a-zA-Z][^>]*>")


def _attributes(source: str) -> dict[str, str]:
    return {m[1].lower(): unescape(m[2] or m[3] or m[4] or "") for m in _ATTRIBUTE.finditer(source)}


def parse(html: str) -> _Page:
    return _Page(html)


def markup_problems(html: str, page: _Page | None = None) -> list[str]:
    """Anything in `html` that a browser would run or load from the payloads: raw markup, event
    handlers, javascript: URLs, inline scripts, data blocks that could close their <script>."""
    problems = []
    lowered = html.lower()
    for raw in RAW_MARKUP:
        if raw.lower() in lowered:
            problems.append(f"raw markup {raw!r}")
    page = page or parse(html)
    for tag, attributes in page.elements:
        for name, value in attributes.items():
            if name.startswith("on"):
                problems.append(f"event handler <{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(
                    ("javascript:", "vbscript:", "data:text/html")):
                problems.append(f"script URL <{tag} {name}={value!r}>")
        if tag == "img" and attributes.get("src") == "x":
            problems.append("injected <img src=x>")
    for attributes, body in page.scripts:
        if attributes.get("type") == "application/json":
            try:
                json.loads(body)
            except ValueError:
                problems.append(f"JSON data block broken: {body[:80]!r}")
        elif body.strip():
            problems.append(f"inline script: {body[:80]!r}")
    return problems


def shows_as_text(page: _Page, text: str) -> bool:
    """`text` reads as typed: in the page's text, in an attribute value (a form field, a title), or in
    a JSON data block that the page's script shows as text (a map's tooltip). Line breaks and runs of
    spaces may be shown as one space (HTML does the same)."""
    text = one_line(text)
    return (text in one_line(page.visible) or any(text in one_line(value) for value in page.attribute_values)
            or any(text in one_line(value) for value in page.data_strings))


def one_line(text: str) -> str:
    return " ".join(text.split())


def double_escaped(page: _Page) -> list[str]:
    """Entities left in the decoded text: the text was escaped twice and shows "&lt;" to the reader."""
    return [entity for entity in ("&lt;", "&gt;", "&#34;", "&#39;", "&quot;", "&amp;") if entity in page.visible]


def text_problems(text: str, payload: Payload) -> list[str]:
    """A plain-text rendering (an e-mail's text part): the payload as typed, nothing HTML-escaped."""
    problems = []
    if one_line(payload.text) not in one_line(text):
        problems.append("not shown as typed in the text part")
    for entity in ("&lt;", "&gt;", "&#34;", "&#39;", "&quot;"):
        if entity in text and entity not in payload.text:
            problems.append(f"HTML entity {entity} in the text part")
    return problems
