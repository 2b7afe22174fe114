"""French first, English second: every message of the interface has an English translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("marketplace/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def source_messages() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"templates/**": {"extensions": ""}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_english_catalog_covers_every_message():
    with open(ROOT / "marketplace/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and "fuzzy" not in m.flags
    }
    missing = sorted(source_messages() - translated)
    assert not missing, "untranslated (run pybabel extract/update, then translate):\n" + "\n".join(missing[:30])


def test_pages_render_in_english(client):
    client.post("/langue/en", data={"next": "/"})
    page = client.get("/annonces").get_data(as_text=True)
    assert "Listings" in page and "Annonces" not in page
    assert "Page not found" in client.get("/nowhere").get_data(as_text=True)
