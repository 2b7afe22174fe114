"""What matching knows about a listing, computed once from its text and fields (pure)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import chain

from marketplace.reference import waste_codes
from marketplace.search.analysis import analyze
from marketplace.vocabulary.rules import Vocabulary

# Units of the same dimension can be compared; quantities are converted to a base unit per year.
UNIT_DIMENSION = {"t": ("mass", 1000.0), "kg": ("mass", 1.0), "m3": ("volume", 1000.0), "L": ("volume", 1.0),
                  "unit": ("count", 1.0), "m2": ("area", 1.0), "MWh": ("energy", 1.0), "h": ("time", 1.0),
                  "day": ("time", 8.0)}
PER_YEAR = {"once": 1.0, "daily": 250.0, "weekly": 52.0, "monthly": 12.0, "yearly": 1.0}


NOTHING: frozenset = frozenset()


@dataclass(slots=True)
class Features:
    id: int
    kind: str
    category: str
    company_id: int | None
    title_tokens: list[str]
    tokens: list[str]  # title then description
    concepts: set[int]  # named anywhere
    uses: set[int]  # outlets of the resources named (and of the waste code), for offers
    waste_code: str | None
    is_hazardous: bool
    latitude: float | None
    longitude: float | None
    quantity: float | None
    unit: str | None
    frequency: str
    available_from: date | None = None
    available_until: date | None = None
    # what the company declares it may take (solution providers), for hazardous lots
    handled_waste_codes: frozenset = field(default_factory=frozenset)
    treatment_operations: frozenset = field(default_factory=frozenset)
    ref: str | None = None
    title_concepts: set[int] = field(default_factory=set)  # named in the title: what the listing is about
    title_uses: set[int] = field(default_factory=set)
    declares_authorisation: bool = False  # says it is licensed to take waste (agréé, autorisé, ICPE…)
    # Derived from the tokens once, when the features are made (features are not changed afterwards):
    # each term's tf weight 1 + ln(count) in the order of first appearance, and the set of terms.
    tf_weights: dict[str, float] = field(init=False, repr=False, compare=False)
    term_set: set[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        counts: dict[str, int] = {}  # the title's words count twice (tokens hold them once already)
        for term in self.tokens:
            counts[term] = counts.get(term, 0) + 1
        for term in self.title_tokens:
            counts[term] = counts.get(term, 0) + 1
        self.tf_weights = {term: 1 + math.log(count) for term, count in counts.items()}
        self.term_set = set(counts)
        # Most of these are empty: one shared empty set for all (a worker keeps 100,000 features).
        for name in ("concepts", "uses", "title_concepts", "title_uses", "handled_waste_codes", "treatment_operations"):
            if not getattr(self, name):
                setattr(self, name, NOTHING)

    @property
    def yearly_quantity(self) -> tuple[str, float] | None:
        base = self.base_quantity
        return (base[0], base[1] * PER_YEAR.get(self.frequency, 1.0)) if base else None

    @property
    def base_quantity(self) -> tuple[str, float] | None:
        """The quantity of one delivery in the base unit of its dimension (kg, L, hours…)."""
        if self.quantity is None or not self.unit or self.unit not in UNIT_DIMENSION:
            return None
        dimension, factor = UNIT_DIMENSION[self.unit]
        return dimension, float(self.quantity) * factor


def waste_code_words(code: str | None) -> str:
    """The List of Waste wording of a code and of its subchapter: indexed with the listing."""
    if not code:
        return ""
    codes = waste_codes()
    entry = codes.get(code)
    sub = codes.get(code[:5])
    return " ".join(x.description for x in (entry, sub) if x)


AUTHORISATION_WORDS = frozenset(analyze(
    "agréé agréée agréés agrément autorisé autorisée autorisation habilité ICPE régénérateur collecteur "
    "éliminateur installation classée"))


def describe(vocabulary: Vocabulary, kind: str, title_tokens: list[str], body_tokens: list[str],
             waste_code: str | None) -> dict:
    """Concepts and outlets of a listing's analysed text: the title says what the listing is about."""
    title_concepts = vocabulary.find_concepts(title_tokens)
    concepts = title_concepts | vocabulary.find_concepts(title_tokens + body_tokens)
    offer = kind == "offer"
    code_uses = _code_uses(vocabulary, waste_code) if offer else set()
    return {
        "concepts": concepts,
        "title_concepts": title_concepts,
        "uses": vocabulary.uses_of(concepts) | code_uses if offer else set(),
        "title_uses": vocabulary.uses_of(title_concepts) | code_uses if offer else set(),
        "declares_authorisation": bool(AUTHORISATION_WORDS & set(title_tokens + body_tokens)),
    }


_code_uses_memo: tuple[Vocabulary | None, dict[str, frozenset]] = (None, {})


def _code_uses(vocabulary: Vocabulary, waste_code: str | None) -> set[int]:
    """The outlets of a waste code's families (`uses_of` tries every code prefix of the uses document),
    remembered per code for the vocabulary in use."""
    global _code_uses_memo
    if not waste_code:
        return set()
    known, memo = _code_uses_memo
    if known is not vocabulary:
        memo = {}
        _code_uses_memo = (vocabulary, memo)
    uses = memo.get(waste_code)
    if uses is None:
        uses = memo[waste_code] = frozenset(vocabulary.uses_of(set(), waste_code))
    return set(uses)


def build(vocabulary: Vocabulary, *, id, kind, category, title, description, waste_code=None, is_hazardous=False,
          latitude=None, longitude=None, quantity=None, unit=None, frequency="once", company_id=None,
          available_from=None, available_until=None, handled_waste_codes=(), treatment_operations=(),
          ref=None) -> Features:
    title_tokens = analyze(title)
    body_tokens = analyze(description)
    return Features(
        id=id, kind=kind, category=category, company_id=company_id, title_tokens=title_tokens,
        tokens=title_tokens + body_tokens, **describe(vocabulary, kind, title_tokens, body_tokens, waste_code),
        waste_code=waste_code, is_hazardous=is_hazardous, latitude=latitude,
        longitude=longitude, quantity=float(quantity) if quantity is not None else None, unit=unit,
        frequency=frequency or "once", available_from=available_from, available_until=available_until,
        handled_waste_codes=frozenset(handled_waste_codes), treatment_operations=frozenset(treatment_operations),
        ref=ref,
    )


def idf_table(documents: list[Features]) -> dict[str, float]:
    """Inverse document frequency of each term over the candidate pool (plus one smoothing document)."""
    df = Counter(chain.from_iterable(doc.term_set for doc in documents))  # each document counts a term once
    n = len(documents) + 1
    return {term: math.log((n + 1) / (count + 0.5)) for term, count in df.items()}
