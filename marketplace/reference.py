"""Reference data shipped with the product (public data in marketplace/data): European List of
Waste, R/D treatment operations, NAF rév. 2 activity codes, French postcodes with coordinates.
Loaded once per process, read-only."""
from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _rows(name: str):
    with open(DATA / name, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def fold(text: str) -> str:
    """Lower-case, accents removed: for forgiving comparisons and searches."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


# --- waste codes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WasteCode:
    code: str  # "15 01 03"
    level: str  # chapter | subchapter | entry
    parent: str
    is_hazardous: bool
    description: str

    @property
    def chapter(self) -> str:
        return self.code[:2]

    @property
    def display(self) -> str:
        return f"{self.code}{'*' if self.is_hazardous else ''}"


@functools.cache
def waste_codes() -> dict[str, WasteCode]:
    return {
        r["code"]: WasteCode(r["code"], r["level"], r["parent"], r["hazardous"] == "yes", r["description"])
        for r in _rows("waste_codes_fr.csv")
    }


def normalize_waste_code(raw: str | None) -> str | None:
    """'150103', '15 01 03', '15-01-03*' → '15 01 03'; empty → None; anything else → ValueError."""
    if raw is None or not raw.strip():
        return None
    digits = re.sub(r"[\s.\-*]", "", raw)
    if not re.fullmatch(r"\d{6}", digits):
        raise ValueError(raw)
    return f"{digits[0:2]} {digits[2:4]} {digits[4:6]}"


def waste_code_entry(raw: str | None) -> WasteCode | None:
    """The List of Waste entry for a code, or ValueError if the code is not a 6-digit entry of the list."""
    code = normalize_waste_code(raw)
    if code is None:
        return None
    entry = waste_codes().get(code)
    if entry is None or entry.level != "entry":
        raise ValueError(raw)
    return entry


def search_waste_codes(query: str, limit: int = 20) -> list[WasteCode]:
    """Entries whose code starts with the digits typed, or whose wording holds every word typed."""
    q = fold(query).strip()
    entries = [w for w in waste_codes().values() if w.level == "entry"]
    if not q:
        return entries[:limit]
    digits = re.sub(r"[\s.\-*]", "", q)
    if digits.isdigit():
        return [w for w in entries if w.code.replace(" ", "").startswith(digits)][:limit]
    words = q.split()
    return [w for w in entries if all(word in fold(w.description) for word in words)][:limit]


def waste_chapter_label(chapter: str) -> str:
    entry = waste_codes().get(chapter)
    return entry.description.capitalize() if entry else chapter


# --- treatment operations and NAF --------------------------------------------------------------


@functools.cache
def treatment_operations() -> dict[str, tuple[str, str]]:
    return {r["code"]: (r["family"], r["description"]) for r in _rows("treatment_operations_fr.csv")}


@functools.cache
def naf_codes() -> dict[str, str]:
    return {r["code"]: r["label"] for r in _rows("naf_codes_fr.csv")}


def normalize_naf(raw: str | None) -> str | None:
    """'3832z', '38.32Z', '38 32 Z' → '38.32Z'; empty → None; not in NAF rév. 2 → ValueError."""
    if raw is None or not raw.strip():
        return None
    compact = re.sub(r"[\s.]", "", raw).upper()
    if not re.fullmatch(r"\d{4}[A-Z]", compact):
        raise ValueError(raw)
    code = f"{compact[:2]}.{compact[2:]}"
    if code not in naf_codes():
        raise ValueError(raw)
    return code


# --- postcodes and distances -------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    postcode: str
    commune: str
    latitude: float
    longitude: float


@functools.cache
def postcodes() -> dict[str, list[Place]]:
    places: dict[str, list[Place]] = {}
    for r in _rows("postcodes_fr.csv"):
        if not r["lat"] or not r["lon"]:
            continue
        places.setdefault(r["postcode"], []).append(
            Place(r["postcode"], r["commune"], float(r["lat"]), float(r["lon"]))
        )
    return places


def locate(postcode: str, commune: str | None = None) -> Place | None:
    """The commune of that postcode whose name matches (any of them if no name given), else None."""
    places = postcodes().get((postcode or "").strip())
    if not places:
        return None
    if commune:
        wanted = re.sub(r"[^a-z]", "", fold(commune).replace("saint", "st"))
        for place in places:
            if re.sub(r"[^a-z]", "", fold(place.commune).replace("saint", "st")) == wanted:
                return place
    return places[0]


def communes_for(postcode: str) -> list[str]:
    return [p.commune.title() for p in postcodes().get(postcode, [])]


def departement_of(postcode: str) -> str:
    """Département number of a postcode: '29900' → '29', '20200' → '2B', '97110' → '971'."""
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


EARTH_RADIUS_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearby_places(latitude: float, longitude: float, radius_km: float, limit: int = 400) -> list[Place]:
    """Communes around a point, nearest first (for offline maps)."""
    seen, out = set(), []
    for places in postcodes().values():
        for p in places:
            if abs(p.latitude - latitude) > radius_km / 100 or (p.commune, p.postcode) in seen:
                continue
            d = distance_km(latitude, longitude, p.latitude, p.longitude)
            if d <= radius_km:
                seen.add((p.commune, p.postcode))
                out.append((d, p))
    out.sort(key=lambda x: x[0])
    return [p for _, p in out[:limit]]
