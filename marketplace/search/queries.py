"""What a search asks and what it answers, the same for every backend (no engine here): parameters,
results and paging, the query's terms with their synonyms from the vocabulary, the sort chosen,
distance boxes, plain snippets, and the rules of spelling suggestions.

Each word the user typed (or each thesaurus term found in the query, possibly several words) becomes
a clause that matches it or any of its synonyms in the title, description, waste-code wording or
company name. Clauses are AND-ed; when that finds nothing, they are OR-ed instead. Words typed rank
above their synonyms."""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from marketplace.search.analysis import analyze, analyze_words, spelling_words
from marketplace.vocabulary.rules import Vocabulary

PER_PAGE = 20
SYNONYM_BOOST = 0.6  # the words typed rank above their synonyms
FEW_RESULTS = 3  # below this, look for a spelling suggestion
FACETS = ("kind", "category", "chapter", "territory")
SORTS = ("relevance", "newest", "distance")
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON_EQUATOR = 111.32
WASTE_CODE = re.compile(r"(?<!\d)(\d{2})[ .\-]?(\d{2})[ .\-]?(\d{2})(?!\d)")
SNIPPET_CHARS = 220
SPELLING_DISTANCE = 2  # edits between a typed word and a suggested one (same first letter)


@dataclass
class SearchParams:
    q: str = ""
    kind: str | None = None
    category: str | None = None
    chapter: str | None = None
    territory_id: int | None = None
    hazardous: bool | None = None
    latitude: float | None = None  # the centre of a distance filter (a postcode's coordinates)
    longitude: float | None = None
    radius_km: float | None = None
    sort: str | None = None  # None: relevance with words, distance with a place, else newest
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def has_place(self) -> bool:
        return self.latitude is not None and self.longitude is not None and bool(self.radius_km)


@dataclass
class SearchHit:
    listing_id: int
    title: Markup  # escaped, matches wrapped in <mark>
    snippet: Markup
    distance_km: float | None = None


@dataclass
class SearchResult:
    hits: list[SearchHit]
    total: int
    page: int
    per_page: int
    sort: str
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    relaxed: bool = False  # no listing had every word: listings with any of them
    suggestion: str | None = None  # "Vouliez-vous dire …"
    expanded: list[str] = field(default_factory=list)  # thesaurus concepts the query was widened with
    incomplete: bool = False  # part of the index is missing (no suggestions): `flask search rebuild`

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        """Page numbers with None for gaps, like Flask-SQLAlchemy's pagination (same macro)."""
        pages_end = self.pages + 1
        if pages_end == 1:
            return
        left_end = min(1 + left_edge, pages_end)
        yield from range(1, left_end)
        if left_end == pages_end:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages_end)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages_end:
            return
        right_start = max(mid_end, pages_end - right_edge)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages_end)


# --- the text query -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """One way of saying a term: its index terms (analysis.py) and its words as written."""

    tokens: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class TermClause:
    """A word or thesaurus term of the query: every typed word, anywhere in the text, or one of
    the synonyms as a phrase (looked for in titles and descriptions, ranked below the typed words)."""

    typed: Wording
    synonyms: tuple[Wording, ...] = ()


@dataclass
class TextQuery:
    terms: list[TermClause]
    waste_codes: list[str]  # "15 01 03": a listing with that code matches
    expanded: list[str]  # labels of the thesaurus concepts the query was widened with

    @property
    def clause_count(self) -> int:
        return len(self.terms) + len(self.waste_codes)

    def __bool__(self) -> bool:
        return bool(self.clause_count)


def query_keys(q: str, vocabulary: Vocabulary) -> list[Wording]:
    """The query's analysed words, grouped into the longest thesaurus terms they form."""
    pairs = analyze_words(q)
    tokens = [token for token, _ in pairs]
    keys: list[Wording] = []
    seen: set[tuple[str, ...]] = set()
    i = 0
    while i < len(tokens):
        size = 1
        for n in range(min(vocabulary.longest, len(tokens) - i), 1, -1):
            if tuple(tokens[i:i + n]) in vocabulary.term_concept:
                size = n
                break
        key = tuple(tokens[i:i + size])
        if key not in seen:
            seen.add(key)
            keys.append(Wording(key, " ".join(word for _, word in pairs[i:i + size])))
        i += size
    return keys


def alternatives(key: tuple[str, ...], vocabulary: Vocabulary) -> list[tuple[str, ...]]:
    """The typed term, then its synonyms minus those it already covers: "palette bois" adds nothing
    to "palette" (every document with the phrase has the word)."""
    synonyms = [s for s in vocabulary.synonyms(key) if s != key]
    words = [set(key)] + [{s[0]} for s in synonyms if len(s) == 1]
    return [key] + [s for s in synonyms if len(s) == 1 or not any(w <= set(s) for w in words)]


def parse_query(q: str, vocabulary: Vocabulary) -> TextQuery:
    """The clauses of a query (one per word or thesaurus term, plus waste codes written as digits)."""
    terms, widened = [], []
    for key in query_keys(q, vocabulary):
        synonyms = tuple(Wording(s, vocabulary.text(s)) for s in alternatives(key.tokens, vocabulary)[1:])
        terms.append(TermClause(key, synonyms))
        if synonyms:
            widened.append(key.tokens)
    expanded = list(dict.fromkeys(vocabulary.label(vocabulary.term_concept[key]) for key in widened))
    codes = list(dict.fromkeys(" ".join(parts) for parts in WASTE_CODE.findall(q)))
    return TextQuery(terms, codes, expanded)


# --- sort, paging, distance, snippets -----------------------------------------------------------


def choose_sort(params: SearchParams, has_text: bool) -> str:
    if params.sort in SORTS and (params.sort != "distance" or params.has_place):
        return params.sort
    if has_text:
        return "relevance"
    return "distance" if params.has_place else "newest"


def clamp_page(page: int, total: int, per_page: int) -> int:
    """A page past the end shows the last one."""
    return min(max(1, page), max(1, math.ceil(total / per_page)))


def bounding_box(latitude: float, longitude: float, radius_km: float) -> tuple[float, float, float, float]:
    """South, west, north, east of a box holding every point within the radius."""
    dlat = radius_km / KM_PER_DEG_LAT
    edge = min(abs(latitude) + dlat, 89.0)  # the box's latitude farthest from the equator: its widest
    dlon = radius_km / (KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(edge)))
    return latitude - dlat, longitude - dlon, latitude + dlat, longitude + dlon


def sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    """Facet values, most frequent first, without the empty ones."""
    return {value: n for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n}


def plain_snippet(text: str | None) -> Markup:
    """The start of a description, escaped, when no searched word is in it."""
    text = " ".join((text or "").split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return escape(text)


# --- spelling -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def thesaurus_words(thesaurus_text: str) -> list[str]:
    """The words of the thesaurus, sorted: suggestions may come from them too."""
    words = set()
    for line in thesaurus_text.splitlines():
        if not line.strip().startswith("#"):
            words.update(w for w in re.findall(r"\w+", line.lower()) if len(w) >= 3 and not w.isdigit())
    return sorted(words)


def thesaurus_tokens(q: str, vocabulary: Vocabulary) -> set[str]:
    """Index terms of the query that belong to one of its thesaurus terms ("big" of "big bag")."""
    return {t for key in query_keys(q, vocabulary) if key.tokens in vocabulary.term_concept for t in key.tokens}


def is_known(word: str, thesaurus: set[str], in_listings: Callable[[list[str]], bool]) -> bool:
    """A word of the listings (`in_listings` is given its index terms), or part of a thesaurus term
    of the query, or a word the analysis drops: nothing to correct."""
    terms = analyze(word)
    if not terms or set(terms) <= thesaurus:
        return True
    return in_listings(terms)


def edit_distance(a: str, b: str, limit: int = SPELLING_DISTANCE) -> int:
    """Levenshtein distance, or limit + 1 when it is larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


def nearest_words(word: str, words: Iterable[str], limit: int = SPELLING_DISTANCE) -> list[tuple[int, str]]:
    """(distance, word) of the words within `limit` edits that start with the same letter, nearest first."""
    found = []
    for other in words:
        if other != word and other[:1] == word[:1]:
            distance = edit_distance(word, other, limit)
            if distance <= limit:
                found.append((distance, other))
    return sorted(found)


def replace_words(q: str, corrections: dict[tuple[int, int], str]) -> str:
    """The query with the words at these (start, end) positions replaced."""
    out, last = [], 0
    for (start, end), word in sorted(corrections.items()):
        out.append(q[last:start])
        out.append(word)
        last = end
    out.append(q[last:])
    return "".join(out)


def suggestion_words(q: str) -> list[tuple[str, int, int]]:
    """The words of a query that a suggestion may replace (as written, lower-cased, with positions)."""
    return spelling_words(q)


def spelling_suggestion(q: str, total: int, suggest: Callable[[], str | None],
                        count: Callable[[str], int]) -> str | None:
    """When a query finds few listings: a corrected query, only if it finds more."""
    if not q or total >= FEW_RESULTS:
        return None
    suggestion = suggest()
    if suggestion and count(suggestion) > total:
        return suggestion
    return None
