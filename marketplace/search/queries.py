"""Full-text queries over the index (no database access): French analysis, thesaurus expansion,
filters, distance, facet counts, sorting, pagination, highlighted snippets and spelling suggestions.

Each word the user typed (or each thesaurus term found in the query, possibly several words) becomes
a clause that matches it or any of its synonyms in the title, description, waste-code wording or
company name. Clauses are AND-ed; when that finds nothing, they are OR-ed instead."""
from __future__ import annotations

import functools
import math
import re
import weakref
from collections.abc import Callable
from dataclasses import astuple, dataclass, field

from markupsafe import Markup, escape
from whoosh import highlight, qparser
from whoosh.query import And, Every, Or, Phrase, Query, Term
from whoosh.sorting import FieldFacet, FunctionFacet, ScoreFacet
from whoosh.spelling import Corrector, ListCorrector

from marketplace.reference import distance_km
from marketplace.search.analysis import analyze
from marketplace.search.index import MICRODEGREES, TEXT_FIELDS, cells_covering
from marketplace.vocabulary.rules import Vocabulary

PER_PAGE = 20
SYNONYM_BOOST = 0.6  # the words typed rank above their synonyms
FEW_RESULTS = 3  # below this, look for a spelling suggestion
FACET_FIELDS = {"kind": "kind", "category": "category", "chapter": "waste_chapter", "territory": "territories"}
SORTS = ("relevance", "newest", "distance")
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON_EQUATOR = 111.32
WASTE_CODE = re.compile(r"(?<!\d)(\d{2})[ .\-]?(\d{2})[ .\-]?(\d{2})(?!\d)")
SNIPPET_CHARS = 220


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


class PreloadedOr(Or):
    """An Or that loads its matching documents and scores once into an array: faster than a tree of
    union matchers when a word and its synonyms match thousands of listings."""

    matcher_type = Or.ARRAY_MATCHER


SYNONYM_FIELDS = ("title", "description")  # a synonym is looked for where people write, not in labels


def _in_fields(words: tuple[str, ...], boost: float = 1.0, fields: tuple[str, ...] = TEXT_FIELDS) -> Query:
    if len(words) == 1:
        return Or([Term(f, words[0], boost=boost) for f in fields])
    return Or([Phrase(f, list(words), slop=1, boost=boost) for f in fields])


def _alternatives(key: tuple[str, ...], vocabulary: Vocabulary) -> list[tuple[str, ...]]:
    """The typed term, then its synonyms minus those it already covers: "palette bois" adds nothing
    to "palette" (every document with the phrase has the word)."""
    synonyms = [s for s in vocabulary.synonyms(key) if s != key]
    words = [set(key)] + [{s[0]} for s in synonyms if len(s) == 1]
    return [key] + [s for s in synonyms if len(s) == 1 or not any(w <= set(s) for w in words)]


def _clause(key: tuple[str, ...], vocabulary: Vocabulary) -> Query:
    # The words typed may be anywhere in the text; a synonym of several words must be a phrase.
    typed = _in_fields(key) if len(key) == 1 else And([_in_fields((w,)) for w in key])
    alternatives = [typed] + [_in_fields(s, SYNONYM_BOOST, SYNONYM_FIELDS) for s in _alternatives(key, vocabulary)[1:]]
    return alternatives[0] if len(alternatives) == 1 else PreloadedOr(alternatives)


def text_clauses(q: str, vocabulary: Vocabulary) -> tuple[list[Query], list[str]]:
    """One clause per word or thesaurus term of the query; also the labels of the concepts used."""
    keys = _query_keys(q, vocabulary)
    clauses = [_clause(key, vocabulary) for key in keys]
    widened = [key for key in keys if len(_alternatives(key, vocabulary)) > 1]
    expanded = list(dict.fromkeys(vocabulary.label(vocabulary.term_concept[key]) for key in widened))
    for parts in WASTE_CODE.findall(q):
        clauses.append(Term("waste_code", " ".join(parts)))
    return clauses, expanded


# --- filters, distance, facets ------------------------------------------------------------------


def _filters(params: SearchParams) -> list[Query]:
    filters: list[Query] = []
    if params.kind:
        filters.append(Term("kind", params.kind))
    if params.category:
        filters.append(Term("category", params.category))
    if params.chapter:
        filters.append(Term("waste_chapter", params.chapter))
    if params.territory_id:
        filters.append(Term("territories", str(params.territory_id)))
    if params.hazardous is not None:
        filters.append(Term("is_hazardous", params.hazardous))
    return filters


def _within_radius(searcher, params: SearchParams, filters: list[Query]) -> dict[int, float]:
    """Documents within the radius, with their distance: the grid cells covering the bounding box
    first (index terms), then the exact great-circle distance on what they let through."""
    lat, lon, radius = params.latitude, params.longitude, float(params.radius_km)
    dlat = radius / KM_PER_DEG_LAT
    edge = min(abs(lat) + dlat, 89.0)  # the box's latitude farthest from the equator: its widest
    dlon = radius / (KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(edge)))
    cells = Or([Term("geocells", cell) for cell in cells_covering(lat - dlat, lon - dlon, lat + dlat, lon + dlon)])
    reader = searcher.reader()
    lats, lons = reader.column_reader("latitude"), reader.column_reader("longitude")
    inside = {}
    for docnum in searcher.docs_for_query(And(filters + [cells]) if filters else cells):
        km = distance_km(lat, lon, lats[docnum] / MICRODEGREES, lons[docnum] / MICRODEGREES)
        if km <= radius:
            inside[docnum] = km
    return inside


# Per searcher (so per index version): each facet value → the set of documents that have it.
_facet_postings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _postings(searcher, fieldname: str) -> dict[str, frozenset]:
    cache = _facet_postings.setdefault(searcher, {})
    if fieldname not in cache:
        cache[fieldname] = {
            value: frozenset(searcher.docs_for_query(Term(fieldname, value)))
            for value in (b.decode() for b in searcher.lexicon(fieldname))
        }
    return cache[fieldname]


def facet_counts(searcher, docs) -> dict[str, dict[str, int]]:
    out = {}
    for name, fieldname in FACET_FIELDS.items():
        counts = {value: len(docs & postings) for value, postings in _postings(searcher, fieldname).items()}
        out[name] = {value: n for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n}
    return out


# --- highlighting -------------------------------------------------------------------------------


class _Highlighter:
    """Matches of the query's words wrapped in <mark>; Whoosh's HtmlFormatter escapes everything else."""

    def __init__(self, searcher, query: Query):
        self.words = frozenset(text for fieldname, text in query.all_terms() if fieldname == "title")
        self.analyzer = searcher.schema["title"].analyzer
        self.formatter = highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t", between=" … ")
        self.whole = highlight.WholeFragmenter()
        self.context = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)

    def _marked(self, text: str, fragmenter, top: int) -> str:
        if not self.words or not text:
            return ""
        return highlight.highlight(text, self.words, self.analyzer, fragmenter, self.formatter, top=top)

    def title(self, text: str) -> Markup:
        return Markup(self._marked(text, self.whole, 1) or escape(text))

    def snippet(self, text: str) -> Markup:
        marked = self._marked(text, self.context, 2)
        if marked:
            return Markup(marked)
        text = " ".join((text or "").split())
        if len(text) > SNIPPET_CHARS:
            text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
        return escape(text)


def _hit(hit, highlighter: _Highlighter, distances) -> SearchHit:
    stored = hit.fields()
    return SearchHit(listing_id=int(stored["id"]), title=highlighter.title(stored.get("title", "")),
                     snippet=highlighter.snippet(stored.get("description", "")),
                     distance_km=distances.get(hit.docnum) if distances is not None else None)


# --- spelling -----------------------------------------------------------------------------------


class _NearestFirst(Corrector):
    """Words of a field within the edit distance, nearest first, then most frequent (Whoosh's
    ReaderCorrector ranks by frequency only)."""

    def __init__(self, reader, fieldname):
        self.reader = reader
        self.fieldname = fieldname

    def _suggestions(self, text, maxdist, prefix):
        seen = set()
        for distance in range(1, maxdist + 1):
            for word in self.reader.terms_within(self.fieldname, text, distance, prefix=prefix):
                if word not in seen:
                    seen.add(word)
                    frequency = self.reader.doc_frequency(self.fieldname, word)
                    yield -distance + min(frequency, 999) / 1000.0, word


class _Best(Corrector):
    """The suggestions of several correctors, each word with its best score (Whoosh's MultiCorrector
    yields its pairs the wrong way round)."""

    def __init__(self, correctors):
        self.correctors = correctors

    def _suggestions(self, text, maxdist, prefix):
        best: dict[str, float] = {}
        for corrector in self.correctors:
            for score, word in corrector._suggestions(text, maxdist, prefix):
                best[word] = max(score, best.get(word, score))
        return ((score, word) for word, score in best.items())


@functools.lru_cache(maxsize=4)
def thesaurus_words(thesaurus_text: str) -> list[str]:
    """The words of the thesaurus, sorted (for Whoosh's ListCorrector)."""
    words = set()
    for line in thesaurus_text.splitlines():
        if not line.strip().startswith("#"):
            words.update(w for w in re.findall(r"\w+", line.lower()) if len(w) >= 3 and not w.isdigit())
    return sorted(words)


def _query_keys(q: str, vocabulary: Vocabulary) -> list[tuple[str, ...]]:
    """The query's analysed words, grouped into the longest thesaurus terms they form."""
    tokens = analyze(q)
    keys: list[tuple[str, ...]] = []
    i = 0
    while i < len(tokens):
        size = 1
        for n in range(min(vocabulary.longest, len(tokens) - i), 1, -1):
            if tuple(tokens[i:i + n]) in vocabulary.term_concept:
                size = n
                break
        key = tuple(tokens[i:i + size])
        if key not in keys:
            keys.append(key)
        i += size
    return keys


def _known(searcher, word: str, thesaurus_tokens: set[str]) -> bool:
    """A word of the listings, or part of a thesaurus term of the query ("big" of "big bag")."""
    terms = analyze(word)
    if not terms or set(terms) <= thesaurus_tokens:
        return True
    return any(searcher.doc_frequency(f, t) for f in TEXT_FIELDS for t in terms)


def suggest(searcher, q: str, vocabulary: Vocabulary, extra_words: list[str] = ()) -> str | None:
    """The query with its unknown words replaced by the nearest words of the listings (or of the
    thesaurus), or None."""
    parser = qparser.QueryParser("spell", searcher.schema, plugins=[qparser.WhitespacePlugin()])
    parsed = parser.parse(q)
    thesaurus_tokens = {t for key in _query_keys(q, vocabulary) if key in vocabulary.term_concept for t in key}
    unknown = [("spell", t.text) for t in parsed.all_tokens() if not _known(searcher, t.text, thesaurus_tokens)]
    if not unknown:
        return None
    correctors = [_NearestFirst(searcher.reader(), "spell")]
    if extra_words:
        correctors.append(ListCorrector(list(extra_words)))
    corrector = _Best(correctors)
    correction = searcher.correct_query(parsed, q, correctors={"spell": corrector}, terms=unknown, prefix=1)
    if not correction.tokens:
        return None
    return correction.string


# --- the search ---------------------------------------------------------------------------------


def _sort(params: SearchParams, has_text: bool) -> str:
    if params.sort in SORTS and (params.sort != "distance" or params.has_place):
        return params.sort
    if has_text:
        return "relevance"
    return "distance" if params.has_place else "newest"


def _run(searcher, query: Query, filter_, sort: str, distances, limit: int):
    # Always a sorting collector (also by score): it keeps the set of every matching document,
    # which the facet counts need; the top-N collector would run the query a second time for it.
    newest = FieldFacet("published_at", reverse=True)
    if sort == "newest":
        sortedby = [newest]
    elif sort == "distance":
        sortedby = [FunctionFacet(lambda _searcher, docnum: distances.get(docnum, math.inf)), newest]
    else:
        sortedby = [ScoreFacet(), newest]
    return searcher.search(query, filter=filter_, limit=limit, sortedby=sortedby)


def _count(searcher, clauses: list[Query], filter_) -> int:
    """How many documents these clauses find, with the same AND-then-OR rule as the search."""
    if not clauses:
        return 0
    found = len(searcher.search(And(clauses), filter=filter_, limit=1))
    if not found and len(clauses) > 1:
        found = len(searcher.search(Or(clauses), filter=filter_, limit=1))
    return found


# Per searcher (so per index version): pages of searches without words. The first page of the
# listing search with no words is what most visitors see first; sorting the whole index by date for
# each of them would cost a full pass, so it is done once per index version.
_wordless_results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
WORDLESS_CACHE_SIZE = 256


def search(searcher, params: SearchParams, vocabulary: Vocabulary,
           spelling_words: Callable[[], list[str]] | None = None) -> SearchResult:
    if (params.q or "").strip():
        return _search(searcher, params, vocabulary, spelling_words)
    cache = _wordless_results.setdefault(searcher, {})
    key = astuple(params)
    if key not in cache:
        if len(cache) >= WORDLESS_CACHE_SIZE:
            cache.clear()
        cache[key] = _search(searcher, params, vocabulary, spelling_words)
    return cache[key]


def _search(searcher, params: SearchParams, vocabulary: Vocabulary,
            spelling_words: Callable[[], list[str]] | None = None) -> SearchResult:
    q = (params.q or "").strip()
    clauses, expanded = text_clauses(q, vocabulary) if q else ([], [])
    sort = _sort(params, bool(clauses))
    filters = _filters(params)
    distances = None
    # The documents the filters allow, as a set. Never an empty one: Whoosh reads an empty filter
    # (set or query matching nothing) as "no filter" and would return everything.
    filter_ = None
    if params.has_place:
        distances = _within_radius(searcher, params, filters)
        filter_ = set(distances)
    elif filters:
        filter_ = set(searcher.docs_for_query(And(filters) if len(filters) > 1 else filters[0]))
    if filter_ is not None and not filter_:
        return SearchResult(hits=[], total=0, page=1, per_page=params.per_page, sort=sort, expanded=expanded)

    page = max(1, params.page)
    limit = page * params.per_page
    if not clauses:
        query = Every()
    elif len(clauses) == 1:
        query = clauses[0]
    else:
        query = And(clauses)
    results = _run(searcher, query, filter_, sort, distances, limit)
    relaxed = False
    if len(clauses) > 1 and results.is_empty():
        results = _run(searcher, Or(clauses), filter_, sort, distances, limit)
        relaxed = not results.is_empty()

    total = len(results)
    pages = max(1, math.ceil(total / params.per_page))
    if page > pages:  # a page past the end shows the last one
        page = pages
        results = _run(searcher, results.q, filter_, sort, distances, page * params.per_page)
    highlighter = _Highlighter(searcher, results.q)
    start = (page - 1) * params.per_page
    hits = [_hit(hit, highlighter, distances) for hit in results[start:start + params.per_page]]

    suggestion = None
    if q and total < FEW_RESULTS:
        suggestion = suggest(searcher, q, vocabulary, spelling_words() if spelling_words else [])
        if suggestion and _count(searcher, text_clauses(suggestion, vocabulary)[0], filter_) <= total:
            suggestion = None  # only a correction that finds more is worth proposing
    return SearchResult(hits=hits, total=total, page=page, per_page=params.per_page, sort=sort,
                        facets=facet_counts(searcher, results.docs()), relaxed=relaxed,
                        suggestion=suggestion, expanded=expanded)
