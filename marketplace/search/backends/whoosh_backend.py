"""The Whoosh backend (the default): an index in files of the instance folder (whoosh_index.py),
queried in-process. Builds Whoosh queries from the shared query terms (queries.py): filters,
distance through grid cells then the exact distance, facet counts from cached postings, sorting,
highlighted snippets, and spelling suggestions from the words of the listings and of the thesaurus."""
from __future__ import annotations

import contextlib
import math
import shutil
import weakref
from collections.abc import Callable, Iterable
from dataclasses import astuple
from datetime import UTC
from pathlib import Path

from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.query import And, Every, Or, Phrase, Query, Term
from whoosh.sorting import FieldFacet, FunctionFacet, ScoreFacet
from whoosh.spelling import Corrector, ListCorrector

from marketplace.matching.features import waste_code_words
from marketplace.reference import distance_km
from marketplace.search import queries
from marketplace.search.backends import whoosh_index as index
from marketplace.search.backends.base import IndexUnavailable
from marketplace.search.backends.whoosh_index import MICRODEGREES, TEXT_FIELDS, cells_covering
from marketplace.search.queries import (
    SYNONYM_BOOST,
    SNIPPET_CHARS,
    SearchHit,
    SearchParams,
    SearchResult,
    TermClause,
    TextQuery,
)
from marketplace.vocabulary.rules import Vocabulary

FACET_FIELDS = {"kind": "kind", "category": "category", "chapter": "waste_chapter", "territory": "territories"}
WRITER_TIMEOUT = 30.0  # seconds to wait for Whoosh's own file lock


class WhooshBackend:
    name = "whoosh"

    def __init__(self, path):
        self.path = Path(path)

    def search(self, params: SearchParams, vocabulary: Vocabulary,
               spelling_words: Callable[[], list[str]] | None = None) -> SearchResult:
        with index.searcher(self.path) as searcher:
            return search(searcher, params, vocabulary, spelling_words)

    def suggest(self, q: str, vocabulary: Vocabulary, extra_words: Iterable[str] = ()) -> str | None:
        with index.searcher(self.path) as searcher:
            return suggest(searcher, q, vocabulary, list(extra_words))

    def usable(self) -> bool:
        try:
            index.open_index(self.path).close()
        except IndexUnavailable:
            return False
        return True

    @contextlib.contextmanager
    def updating(self):
        ix = index.open_index(self.path)
        try:
            yield _Writer(ix)
        finally:
            ix.close()

    @contextlib.contextmanager
    def rebuilding(self):
        """Index into a fresh folder, then swap it in with one rename (whoosh_index.py)."""
        folder = index.new_generation(self.path)
        try:
            ix = index.create_empty(folder)
            writer = ix.writer(limitmb=128)
            try:
                yield _Builder(writer)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            ix.close()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        index.swap_in(folder, self.path)
        index.forget(self.path)

    def after_rebuild(self) -> None:
        pass  # the old generation was deleted by the swap

    def location(self) -> str:
        return str(self.path)


# --- documents ----------------------------------------------------------------------------------


def document(listing) -> dict:
    """The Whoosh document of a public listing."""
    site = listing.site
    doc = {
        "id": str(listing.id),
        "kind": listing.kind,
        "category": listing.category,
        "status": listing.status,
        "title": listing.title,
        "description": listing.description or "",
        "company": listing.company.name,
        "city": site.city or "",
        "postcode": site.postcode or "",
        "territories": ",".join(str(t.id) for t in site.territories),
        "is_hazardous": bool(listing.is_hazardous),
        "spell": f"{listing.title}\n{listing.description or ''}",
    }
    if listing.waste_code:
        doc["waste_code"] = listing.waste_code
        doc["waste_chapter"] = listing.waste_code[:2]
        doc["waste_label"] = waste_code_words(listing.waste_code)
    # Columns always get a value (see the schema); (0, 0) is far from any French site.
    doc["latitude"] = doc["longitude"] = doc["published_at"] = 0
    if site.latitude is not None and site.longitude is not None:
        doc["geocells"] = ",".join(index.geocells(site.latitude, site.longitude))
        doc["latitude"] = round(site.latitude * MICRODEGREES)
        doc["longitude"] = round(site.longitude * MICRODEGREES)
    if listing.published_at is not None:
        doc["published_at"] = int(listing.published_at.replace(tzinfo=UTC).timestamp())
    return doc


class _Writer:
    """One Whoosh commit per batch (Whoosh's own lock: one writer at a time)."""

    def __init__(self, ix):
        self.ix = ix

    def write(self, listings, removed_ids) -> None:
        writer = self.ix.writer(timeout=WRITER_TIMEOUT)
        try:
            for listing in listings:
                writer.update_document(**document(listing))
            for listing_id in removed_ids:
                writer.delete_by_term("id", str(listing_id))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()


class _Builder:
    def __init__(self, writer):
        self.writer = writer

    def add(self, listings) -> None:
        for listing in listings:
            self.writer.add_document(**document(listing))


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


def _clause(term: TermClause) -> Query:
    # The words typed may be anywhere in the text; a synonym of several words must be a phrase.
    key = term.typed.tokens
    typed = _in_fields(key) if len(key) == 1 else And([_in_fields((w,)) for w in key])
    alternatives = [typed] + [_in_fields(s.tokens, SYNONYM_BOOST, SYNONYM_FIELDS) for s in term.synonyms]
    return alternatives[0] if len(alternatives) == 1 else PreloadedOr(alternatives)


def text_clauses(text_query: TextQuery) -> list[Query]:
    """One clause per word or thesaurus term of the query, and one per waste code."""
    return [_clause(term) for term in text_query.terms] + [Term("waste_code", code) for code in text_query.waste_codes]


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
    cells = Or([Term("geocells", cell) for cell in cells_covering(*queries.bounding_box(lat, lon, radius))])
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
    return {name: queries.sorted_counts({value: len(docs & postings)
                                         for value, postings in _postings(searcher, fieldname).items()})
            for name, fieldname in FACET_FIELDS.items()}


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
        return Markup(marked) if marked else queries.plain_snippet(text)


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


def suggest(searcher, q: str, vocabulary: Vocabulary, extra_words: list[str] = ()) -> str | None:
    """The query with its unknown words replaced by the nearest words of the listings (or of the
    thesaurus), or None. Word by word, each at its place in the query, as the PostgreSQL backend:
    Whoosh's own correct_query loses the place of a word its analyzer cuts in several (`alert("x1")`)
    and raised a TypeError on it (a 500 on the search page)."""
    thesaurus = queries.thesaurus_tokens(q, vocabulary)

    def in_listings(terms: list[str]) -> bool:
        return any(searcher.doc_frequency(f, t) for f in TEXT_FIELDS for t in terms)

    unknown = [(word, start, end) for word, start, end in queries.suggestion_words(q)
               if not queries.is_known(word, thesaurus, in_listings)]
    if not unknown:
        return None
    correctors = [_NearestFirst(searcher.reader(), "spell")]
    if extra_words:
        correctors.append(ListCorrector(list(extra_words)))
    corrector = _Best(correctors)
    corrections = {}
    for word, start, end in unknown:
        found = corrector.suggest(word, limit=1, maxdist=queries.SPELLING_DISTANCE, prefix=1)
        if found:
            corrections[(start, end)] = found[0]
    return queries.replace_words(q, corrections) if corrections else None


# --- the search ---------------------------------------------------------------------------------


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
    text_query = queries.parse_query(q, vocabulary) if q else TextQuery([], [], [])
    clauses = text_clauses(text_query)
    sort = queries.choose_sort(params, bool(clauses))
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
        return SearchResult(hits=[], total=0, page=1, per_page=params.per_page, sort=sort,
                            expanded=text_query.expanded)

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
    last = queries.clamp_page(page, total, params.per_page)
    if page > last:
        page = last
        results = _run(searcher, results.q, filter_, sort, distances, page * params.per_page)
    highlighter = _Highlighter(searcher, results.q)
    start = (page - 1) * params.per_page
    hits = [_hit(hit, highlighter, distances) for hit in results[start:start + params.per_page]]

    suggestion = queries.spelling_suggestion(
        q, total,
        suggest=lambda: suggest(searcher, q, vocabulary, spelling_words() if spelling_words else []),
        count=lambda corrected: _count(searcher, text_clauses(queries.parse_query(corrected, vocabulary)), filter_))
    return SearchResult(hits=hits, total=total, page=page, per_page=params.per_page, sort=sort,
                        facets=facet_counts(searcher, results.docs()), relaxed=relaxed,
                        suggestion=suggestion, expanded=text_query.expanded)
