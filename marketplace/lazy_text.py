"""Lazy translated strings are text, not HTML.

flask_babel's LazyString (what `lazy_gettext`/`_l` returns) has an `__html__` method returning the
formatted string as it is, so Jinja, WTForms and markupsafe take it for markup and print it unescaped.
Our messages themselves are ours, like a template's own text; but `_l("Codes inconnus : %(codes)s",
codes=…)` carries what someone typed, and a form error, a label or a flash built that way would put
that person's `<script>` into the page. `install()` (called by create_app) makes `__html__` escape the
values interpolated into the message, as Jinja's own `{{ _("…%(x)s", x=…) }}` does; a message without
values renders as before."""
from __future__ import annotations

from flask_babel.speaklater import LazyString
from markupsafe import escape


def _html(self) -> str:
    if not self._kwargs:
        return str(self)
    values = {name: escape(value) if isinstance(value, (str, LazyString)) else value
              for name, value in self._kwargs.items()}
    return str(self._func(*self._args, **values))


def install() -> None:
    LazyString.__html__ = _html

