"""The PostgreSQL backend: full-text search in the application's own database, for a site that runs
on PostgreSQL (several web machines share it; nothing on local disk).

The index is the table `search_document` (models.py): one row per public listing with the columns the
filters and sorts need, and a weighted tsvector built with the `marketplace_fr` text search
configuration (French Snowball stemming after `unaccent`, created by the migration) behind a GIN
index. A query is made of the shared terms (queries.py): each word typed becomes
`plainto_tsquery`, each synonym `phraseto_tsquery`, combined with the tsquery operators `||` and
`&&`; user text only ever reaches SQL as bound parameters. Ranking is `ts_rank` (typed words
above synonyms), facets are GROUP BY counts over the matching rows, highlights come from
`ts_headline` and are escaped here (only the <mark> tags are markup), and spelling suggestions come
from the `search_word` table (fuzzystrmatch's Levenshtein) and the thesaurus."""
from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import astuple

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from marketplace.extensions import db
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.matching.features import waste_code_words
from marketplace.models_base import savepoint, utcnow
from marketplace.reference import EARTH_RADIUS_KM
from marketplace.search import queries
from marketplace.search.analysis import spelling_words as listing_words
from marketplace.search.backends.base import IndexUnavailable
from marketplace.search.models import (
    IndexTask,
    SearchDocument,
    SearchDocumentTerritory,
    SearchIndexState,
    SearchWord,
)
from marketplace.search.queries import SearchHit, SearchParams, SearchResult, TextQuery, Wording
from marketplace.vocabulary.rules import Vocabulary

log = logging.getLogger(__name__)
NAME = "postgresql"
D, T, W = SearchDocument, SearchDocumentTerritory, SearchWord
# Constants of the SQL, never user input.
CONFIG = sa.literal_column("'marketplace_fr'::regconfig")
# Weights of the labels D, C, B, A: description C, waste-code wording and company B, title A.
WEIGHTS = sa.literal_column("'{0.1, 0.3, 0.4, 1.0}'::float4[]")
RANK_NORMALIZATION = 1  # divide by 1 + log(document length): long descriptions do not win by size
# ts_headline marks matches with these; the text around is escaped in Python, then they become <mark>.
# The text's own "<" and ">" are swapped for private-use characters first, because ts_headline drops
# what looks like an HTML tag from fragments; they are swapped back before escaping.
START, STOP, LT, GT = "\x01", "\x02", "\ue000", "\ue001"
MARK_OPEN, MARK_CLOSE = '<mark class="hl">', "</mark>"
TITLE_HEADLINE = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
SNIPPET_HEADLINE = (f'StartSel={START}, StopSel={STOP}, MaxFragments=2, MaxWords=30, MinWords=12, '
                    f'ShortWord=2, FragmentDelimiter=" … "')
WORD_MAX = 40  # longer "words" (URLs, codes) are not offered as suggestions
WORDLESS_CACHE_SIZE = 256
_wordless_results: dict = {}


class PostgresBackend:
    name = NAME

    # --- reading ------------------------------------------------------------------------------

    def search(self, params: SearchParams, vocabulary: Vocabulary,
               spelling_words: Callable[[], list[str]] | None = None) -> SearchResult:
        try:
            return self._search_or_cached(params, vocabulary, spelling_words)
        except sa.exc.DBAPIError as exc:
            if not _undefined_table(exc):
                raise
            db.session.rollback()
            log.error("search index table missing (%s): run `flask search rebuild`", _first_line(exc.orig))
            raise IndexUnavailable("missing") from exc

    def _search_or_cached(self, params: SearchParams, vocabulary: Vocabulary,
                          spelling_words: Callable[[], list[str]] | None) -> SearchResult:
        if (params.q or "").strip():
            return self._search(params, vocabulary, spelling_words)
        # Searches without words (the landing page of the search) are kept per version of the index,
        # as the Whoosh backend does: their facets count every document.
        state = db.session.execute(sa.select(SearchIndexState.built_at, SearchIndexState.version)
                                   .where(SearchIndexState.backend == NAME)).one_or_none()
        if state is None:
            return self._search(params, vocabulary, spelling_words)
        key = (db.engine.url.render_as_string(), tuple(state), astuple(params))
        result = _wordless_results.get(key)
        if result is None:
            if len(_wordless_results) >= WORDLESS_CACHE_SIZE:
                _wordless_results.clear()
            result = _wordless_results[key] = self._search(params, vocabulary, spelling_words)
        return result

    def _search(self, params: SearchParams, vocabulary: Vocabulary,
                spelling_words: Callable[[], list[str]] | None) -> SearchResult:
        q = (params.q or "").strip()
        text_query = queries.parse_query(q, vocabulary) if q else TextQuery([], [], [])
        sort = queries.choose_sort(params, bool(text_query))
        filters = _filters(params)
        page = max(1, params.page)

        relaxed = False
        match = _match(text_query, all_clauses=True)
        total, facets, found = self._matches(params, text_query, filters + match, sort, page)
        if not total and text_query.clause_count > 1:
            match = _match(text_query, all_clauses=False)
            total, facets, found = self._matches(params, text_query, filters + match, sort, page)
            relaxed = bool(total)
        if not total and (damage := self._damage(needed=(D, T, SearchIndexState))):  # without words: incomplete
            raise IndexUnavailable(damage)
        last = queries.clamp_page(page, total, params.per_page)
        if page > last:  # past the end: the last page
            page = last
            if total:
                total, facets, found = self._matches(params, text_query, filters + match, sort, page)

        incomplete = False
        try:
            with savepoint():
                suggestion = queries.spelling_suggestion(
                    q, total,
                    suggest=lambda: self.suggest(q, vocabulary, spelling_words() if spelling_words else ()),
                    count=lambda corrected: self._count_text(queries.parse_query(corrected, vocabulary), filters))
        except sa.exc.DBAPIError as exc:  # the words table is gone: results without suggestions
            if not _undefined_table(exc):
                raise
            log.error("search index incomplete (%s): run `flask search rebuild`", _first_line(exc.orig))
            suggestion, incomplete = None, True
        return SearchResult(hits=self._hits(found, text_query), total=total, page=page,
                            per_page=params.per_page, sort=sort, facets=facets, relaxed=relaxed,
                            suggestion=suggestion, expanded=text_query.expanded, incomplete=incomplete)

    def _matches(self, params: SearchParams, text_query: TextQuery, conditions: list, sort: str, page: int):
        """In one statement (the matching rows are read once): their number, the facet counts, and
        the page's listing ids in order with their distance."""
        columns = [D.listing_id, D.kind, D.category, D.waste_chapter, D.published_at]
        if params.has_place:
            columns.append(_distance_km(params.latitude, params.longitude).label("distance"))
        if sort == "relevance":
            columns.append(_rank(text_query).label("rank"))
        m = sa.select(*columns).where(*conditions).cte("m")
        no_distance = sa.cast(sa.null(), sa.Float)
        parts = [sa.select(sa.literal_column("'total'"), sa.cast(sa.null(), sa.String), sa.func.count(), no_distance)
                 .select_from(m)]
        for name, column in (("kind", m.c.kind), ("category", m.c.category), ("chapter", m.c.waste_chapter)):
            parts.append(sa.select(sa.literal_column(f"'{name}'"), column, sa.func.count(), no_distance)
                         .where(column.is_not(None)).group_by(column))
        parts.append(sa.select(sa.literal_column("'territory'"), sa.cast(T.territory_id, sa.String), sa.func.count(),
                               no_distance)
                     .select_from(m.join(T, T.listing_id == m.c.listing_id)).group_by(T.territory_id))
        order = _order(m.c, sort)
        top = (sa.select(m.c.listing_id, sa.func.row_number().over(order_by=order).label("position"),
                         m.c.distance if params.has_place else no_distance.label("distance"))
               .order_by(*order).limit(params.per_page).offset((page - 1) * params.per_page).subquery())
        parts.append(sa.select(sa.literal_column("'hit'"), sa.cast(top.c.listing_id, sa.String), top.c.position,
                               top.c.distance))

        counts: dict[str, dict[str, int]] = {name: {} for name in queries.FACETS}
        total, found = 0, []
        for name, value, n, distance in db.session.execute(sa.union_all(*parts)):
            if name == "total":
                total = n
            elif name == "hit":
                found.append((n, int(value), distance))
            else:
                counts[name][value] = n
        found = [(listing_id, distance) for _, listing_id, distance in sorted(found)]
        return total, {name: queries.sorted_counts(values) for name, values in counts.items()}, found

    def _hits(self, found: list[tuple[int, float | None]], text_query: TextQuery) -> list[SearchHit]:
        """The page's titles and snippets, highlighted (ts_headline re-reads the texts: only for these)."""
        if not found:
            return []
        columns = [D.listing_id, D.title, D.description]
        words = _highlight_query(text_query)
        if words is not None:
            columns += [sa.func.ts_headline(CONFIG, _guarded(D.title), words, TITLE_HEADLINE).label("title_marked"),
                        sa.func.ts_headline(CONFIG, _guarded(D.description), words, SNIPPET_HEADLINE)
                        .label("snippet_marked")]
        rows = {row["listing_id"]: row for row in db.session.execute(
            sa.select(*columns).where(D.listing_id.in_([listing_id for listing_id, _ in found]))).mappings()}
        hits = []
        for listing_id, distance in found:
            row = rows.get(listing_id)
            if row is None:  # removed by the writer a moment ago
                continue
            hits.append(SearchHit(listing_id=listing_id,
                                  title=_marked(row.get("title_marked"), whole=True) or escape(row["title"]),
                                  snippet=(_marked(row.get("snippet_marked"), whole=False)
                                           or queries.plain_snippet(row["description"])),
                                  distance_km=distance))
        return hits

    def _count_text(self, text_query: TextQuery, filters: list) -> int:
        """How many documents a query finds, with the same AND-then-OR rule as the search."""
        if not text_query:
            return 0
        count = 0
        for all_clauses in (True, False) if text_query.clause_count > 1 else (True,):
            count = db.session.scalar(sa.select(sa.func.count()).select_from(D)
                                      .where(*filters, *_match(text_query, all_clauses)))
            if count:
                break
        return count

    def suggest(self, q: str, vocabulary: Vocabulary, extra_words: Iterable[str] = ()) -> str | None:
        thesaurus = queries.thesaurus_tokens(q, vocabulary)
        extra = list(extra_words)
        corrections = {}
        for word, start, end in queries.suggestion_words(q):
            if queries.is_known(word, thesaurus, lambda _terms, word=word: self._in_listings(word)):
                continue
            best = self._nearest(word, extra)
            if best:
                corrections[(start, end)] = best
        return queries.replace_words(q, corrections) if corrections else None

    def _in_listings(self, words: str) -> bool:
        return db.session.scalar(sa.select(D.listing_id).where(
            D.document.op("@@")(sa.func.plainto_tsquery(CONFIG, words))).limit(1)) is not None

    def _nearest(self, word: str, extra_words: list[str]) -> str | None:
        """The nearest word of the listings or of the thesaurus (same first letter, at most two
        edits; nearest first, a word of the listings before one of the thesaurus), checked against
        the current documents."""
        if len(word) > WORD_MAX:
            return None
        limit = queries.SPELLING_DISTANCE
        distance = sa.func.levenshtein_less_equal(W.word, word, limit)
        found = db.session.execute(
            sa.select(distance, W.word)
            .where(W.initial == word[:1], W.word != word,
                   sa.func.length(W.word).between(len(word) - limit, len(word) + limit), distance <= limit)
            .order_by(distance, W.word).limit(20)).all()
        candidates = sorted([(d, False, w) for d, w in found]
                            + [(d, True, w) for d, w in queries.nearest_words(word, extra_words, limit)])
        for _distance, from_thesaurus, candidate in candidates:
            # A word of a listing since withdrawn stays in the table until the next rebuild.
            if from_thesaurus or self._in_listings(candidate):
                return candidate
        return None

    # --- writing (the single writer, indexing.py) -----------------------------------------------

    def usable(self) -> bool:
        return self._damage() is None

    def _damage(self, needed=None) -> str | None:
        """Why the index cannot serve as it is (the writer then rebuilds it), or None: one of its tables
        (`needed`: all) missing (dropped by hand, say), never built, or emptied while listings are public."""
        missing = _missing_tables(needed or INDEX_MODELS)
        if missing:
            return f"table {', '.join(missing)} missing"
        if db.session.get(SearchIndexState, NAME) is None:
            return "missing"
        if db.session.scalar(sa.select(D.listing_id).limit(1)) is None and db.session.scalar(
                sa.select(Listing.id).where(Listing.status.in_(PUBLIC_STATUSES),
                                            ~sa.exists().where(IndexTask.listing_id == Listing.id)).limit(1)):
            return "empty"  # a public listing not waiting for the writer, and no document at all
        return None

    @contextlib.contextmanager
    def updating(self):
        if not self.usable():
            raise IndexUnavailable("missing")
        try:
            yield _Writer()
        except BaseException:
            db.session.rollback()
            raise

    @contextlib.contextmanager
    def rebuilding(self):
        """Empty the tables and fill them again in the caller's transaction: searches read the old
        rows until it commits (DELETE, not TRUNCATE, which would block them meanwhile)."""
        try:
            _create_missing_tables()
            for model in (T, D, W):
                db.session.execute(sa.delete(model))
            builder = _Builder()
            yield builder
            state = pg_insert(SearchIndexState).values(backend=NAME, built_at=utcnow(), documents=builder.count,
                                                       version=0)
            db.session.execute(state.on_conflict_do_update(
                index_elements=[SearchIndexState.backend],
                set_={"built_at": state.excluded.built_at, "documents": state.excluded.documents, "version": 0}))
        except BaseException:
            db.session.rollback()
            raise

    def after_rebuild(self) -> None:
        """Reclaim the rows the rebuild replaced now rather than at the next autovacuum: until then
        every search reads past them (twice as slow at 100,000 listings). Not fatal: autovacuum
        will do it later."""
        try:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                for model in (D, T, W):
                    connection.execute(sa.text(f"VACUUM ANALYZE {model.__tablename__}"))
        except sa.exc.DBAPIError as exc:
            log.warning("VACUUM ANALYZE of the search tables failed (autovacuum will do it): %s", exc)

    def location(self) -> str:
        return "PostgreSQL (table search_document)"


# --- the tables themselves ---------------------------------------------------------------------

UNDEFINED_TABLE = "42P01"  # SQLSTATE undefined_table
INDEX_MODELS = (D, T, W, SearchIndexState)  # in the order they are created


def _undefined_table(exc: sa.exc.DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE


def _first_line(error) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def _missing_tables(models=INDEX_MODELS) -> list[str]:
    names = [model.__tablename__ for model in models]
    return list(db.session.scalars(sa.text("SELECT name FROM unnest(CAST(:names AS text[])) AS name "
                                           "WHERE to_regclass(name) IS NULL"), {"names": names}))


def _create_missing_tables() -> None:
    """Create again, in the rebuild's transaction, the index tables someone dropped (as the migration
    made them: the models declare the same columns and indexes)."""
    missing = _missing_tables()
    if not missing:
        return
    log.warning("search index tables missing, created again: %s", ", ".join(missing))
    connection = db.session.connection()
    if D.__tablename__ in missing and T.__tablename__ not in missing:
        T.__table__.drop(connection)  # its foreign key went with the documents: make both again
        missing.append(T.__tablename__)
    for model in INDEX_MODELS:
        if model.__tablename__ in missing:
            model.__table__.create(connection)


# --- query pieces -------------------------------------------------------------------------------


def _or(tsqueries: list):
    return functools.reduce(lambda a, b: a.op("||", return_type=TSQUERY)(b), tsqueries)


def _typed(wording: Wording):
    """Every word typed, anywhere."""
    return sa.func.plainto_tsquery(CONFIG, wording.text)


def _phrase(wording: Wording):
    return sa.func.phraseto_tsquery(CONFIG, wording.text)


def _term_query(term: queries.TermClause):
    return _or([_typed(term.typed)] + [_phrase(s) for s in term.synonyms])


def _match(text_query: TextQuery, all_clauses: bool) -> list:
    """The WHERE conditions of the query's clauses: all of them, or any."""
    clauses = [D.document.op("@@")(_term_query(term)) for term in text_query.terms]
    clauses += [D.waste_code == code for code in text_query.waste_codes]
    if not clauses:
        return []
    return [sa.and_(*clauses) if all_clauses else sa.or_(*clauses)]


def _rank(text_query: TextQuery):
    """The rank of the words typed, plus that of the synonyms at a lower weight. ts_rank, not
    ts_rank_cd: cover density took 5× longer on synonym phrases (180 against 35 ms for 8,400 matches)."""
    typed = [_typed(term.typed) for term in text_query.terms]
    synonyms = [_phrase(s) for term in text_query.terms for s in term.synonyms]
    rank = sa.literal(0.0)
    if typed:
        rank = sa.func.ts_rank(WEIGHTS, D.document, _or(typed), RANK_NORMALIZATION)
    if synonyms:
        rank = rank + queries.SYNONYM_BOOST * sa.func.ts_rank(WEIGHTS, D.document, _or(synonyms),
                                                                  RANK_NORMALIZATION)
    return rank


def _highlight_query(text_query: TextQuery):
    queries_ = [_term_query(term) for term in text_query.terms]
    return _or(queries_) if queries_ else None


def _order(columns, sort: str) -> list:
    newest = [columns.published_at.desc().nulls_last(), columns.listing_id.desc()]
    if sort == "relevance":
        return [columns.rank.desc(), *newest]
    if sort == "distance":
        return [columns.distance.asc(), *newest]
    return newest


def _filters(params: SearchParams) -> list:
    conditions = []
    if params.kind:
        conditions.append(D.kind == params.kind)
    if params.category:
        conditions.append(D.category == params.category)
    if params.chapter:
        conditions.append(D.waste_chapter == params.chapter)
    if params.territory_id:
        conditions.append(sa.exists().where(T.listing_id == D.listing_id, T.territory_id == params.territory_id))
    if params.hazardous is not None:
        conditions.append(D.is_hazardous == params.hazardous)
    if params.has_place:
        # The box first (an index range), then the exact great-circle distance, as the Whoosh backend.
        south, west, north, east = queries.bounding_box(params.latitude, params.longitude, float(params.radius_km))
        conditions += [D.latitude.between(south, north), D.longitude.between(west, east),
                       _distance_km(params.latitude, params.longitude) <= float(params.radius_km)]
    return conditions


def _distance_km(latitude: float, longitude: float):
    """reference.distance_km (haversine) in SQL, from a point to each document's site."""
    p1 = math.radians(latitude)
    p2 = sa.func.radians(D.latitude, type_=sa.Float)
    dl = sa.func.radians(D.longitude, type_=sa.Float) - math.radians(longitude)
    a = (sa.func.power(sa.func.sin((p2 - p1) / 2, type_=sa.Float), 2, type_=sa.Float)
         + math.cos(p1) * sa.func.cos(p2, type_=sa.Float)
         * sa.func.power(sa.func.sin(dl / 2, type_=sa.Float), 2, type_=sa.Float))
    return 2 * EARTH_RADIUS_KM * sa.func.asin(sa.func.least(1.0, sa.func.sqrt(a, type_=sa.Float)), type_=sa.Float)


def _guarded(column):
    """The text with its "<", ">" swapped for private-use characters and the markers removed."""
    return sa.func.translate(column, f"<>{START}{STOP}{LT}{GT}", f"{LT}{GT}")


def _marked(headline: str | None, whole: bool) -> Markup | None:
    """A ts_headline result as HTML: everything escaped, the markers turned into <mark>. None when
    nothing is marked (the caller shows the plain text)."""
    if not headline or START not in headline:
        return None
    text = headline.replace(LT, "<").replace(GT, ">")
    if not whole:
        text = " ".join(text.split())
    html = str(escape(text)).replace(START, MARK_OPEN).replace(STOP, MARK_CLOSE)
    return Markup(html)


# --- writing ------------------------------------------------------------------------------------


def _vector(title, labels, description):
    def weighted(text, weight: str):
        return sa.func.setweight(sa.func.to_tsvector(CONFIG, text), sa.literal_column(f"'{weight}'"))

    return weighted(title, "A").op("||")(weighted(labels, "B")).op("||")(weighted(description, "C"))


VALUE_COLUMNS = ("listing_id", "kind", "category", "status", "waste_code", "waste_chapter", "is_hazardous",
                 "latitude", "longitude", "published_at", "title", "description")


@functools.cache
def _insert_documents(replace: bool):
    """One statement for every batch (compiled once; the driver sends the rows in a few round trips),
    the vector computed by PostgreSQL from the texts."""
    values = {name: sa.bindparam(f"p_{name}", type_=D.__table__.c[name].type) for name in VALUE_COLUMNS}
    values["document"] = _vector(*(sa.bindparam(f"p_{name}", type_=sa.Text)
                                   for name in ("title", "labels", "description")))
    insert = pg_insert(D.__table__).values(values)
    if replace:
        insert = insert.on_conflict_do_update(
            index_elements=["listing_id"], set_={name: insert.excluded[name] for name in values if name != "listing_id"})
    return insert


def _document(listing) -> dict:
    """The bound values of a listing's row."""
    site = listing.site
    placed = site.latitude is not None and site.longitude is not None
    return {
        "p_listing_id": listing.id,
        "p_kind": listing.kind,
        "p_category": listing.category,
        "p_status": listing.status,
        "p_waste_code": listing.waste_code or None,
        "p_waste_chapter": listing.waste_code[:2] if listing.waste_code else None,
        "p_is_hazardous": bool(listing.is_hazardous),
        # Rounded as the Whoosh backend stores them (micro-degrees): the same distances.
        "p_latitude": round(site.latitude, 6) if placed else None,
        "p_longitude": round(site.longitude, 6) if placed else None,
        "p_published_at": listing.published_at,
        "p_title": listing.title,
        "p_labels": " ".join(filter(None, (waste_code_words(listing.waste_code), listing.company.name))),
        "p_description": listing.description or "",
    }


def _words(listing) -> set[str]:
    return {word for word, _, _ in listing_words(f"{listing.title}\n{listing.description or ''}")
            if len(word) <= WORD_MAX}


def _insert_words(words: set[str]) -> None:
    if words:
        db.session.execute(pg_insert(W.__table__).on_conflict_do_nothing(),
                           [{"word": w, "initial": w[:1]} for w in sorted(words)])


def _write_documents(listings: list, replace: bool) -> set[str]:
    """Insert (or replace) the documents and territories of these listings; returns their words."""
    if not listings:
        return set()
    db.session.execute(_insert_documents(replace), [_document(listing) for listing in listings])
    territories = [{"listing_id": listing.id, "territory_id": t.id}
                   for listing in listings for t in {t.id: t for t in listing.site.territories}.values()]
    if territories:
        db.session.execute(pg_insert(T.__table__).on_conflict_do_nothing(), territories)
    return set().union(*(_words(listing) for listing in listings))


class _Writer:
    """Writes a batch in the caller's transaction (committed with the index tasks it applies)."""

    def write(self, listings, removed_ids) -> None:
        listings, removed_ids = list(listings), list(removed_ids)
        ids = [listing.id for listing in listings] + removed_ids
        if ids:
            db.session.execute(sa.delete(T).where(T.listing_id.in_(ids)))
        if removed_ids:
            db.session.execute(sa.delete(D).where(D.listing_id.in_(removed_ids)))
        _insert_words(_write_documents(listings, replace=True))
        # A new version of the index: cached searches without words are recomputed.
        db.session.execute(sa.update(SearchIndexState).where(SearchIndexState.backend == NAME)
                           .values(version=SearchIndexState.version + 1))


class _Builder:
    def __init__(self):
        self.count = 0
        self.seen_words: set[str] = set()

    def add(self, listings) -> None:
        listings = list(listings)
        words = _write_documents(listings, replace=False) - self.seen_words
        _insert_words(words)
        self.seen_words |= words
        self.count += len(listings)
