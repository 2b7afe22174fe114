"""Scoring an offer against a need (pure functions, no database).

The score adds evidence that the two are about the same resource — shared concepts of the thesaurus,
an outlet the resource usually goes to (resource → use knowledge), shared rare words, the same
waste-code family — then weighs it by closeness: distance decay, compatible quantities, same category.
Pairs without evidence of the same resource are never matches, however close. Every component that
counts leaves a reason, so a person can see why two listings were put in touch."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from marketplace.matching.features import Features
from marketplace.reference import distance_km
from marketplace.vocabulary.rules import Vocabulary

MIN_EVIDENCE = 0.45  # below this the two listings are not about the same thing
DISTANCE_SCALE_KM = 60.0  # the distance factor halves roughly every 42 km
MAX_DISTANCE_KM = 250.0


@dataclass(frozen=True)
class Reason:
    code: str  # concept | use | words | waste_code | distance | quantity | category | dates
    detail: str = ""
    value: float = 0.0

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.detail, "value": round(self.value, 3)}


@dataclass
class Scored:
    score: float
    reasons: list[Reason]


def vector_norm(features: Features, idf: dict[str, float]) -> float:
    """Length of a listing's tf-idf vector."""
    return math.sqrt(sum((tf * idf.get(term, 1.0)) ** 2 for term, tf in features.tf_weights.items()))


def cosine(offer: Features, need: Features, shared: set[str], idf: dict[str, float],
           norm: Callable[[Features], float] | None = None) -> float:
    """Cosine of the tf-idf vectors of the two texts, given their shared terms; `norm` gives a
    vector's length (a ranking computes its subject's once)."""
    a, b = offer.tf_weights, need.tf_weights
    dot = sum((a[t] * idf.get(t, 1.0)) * (b[t] * idf.get(t, 1.0)) for t in shared)
    norm_a, norm_b = (norm(offer), norm(need)) if norm else (vector_norm(offer, idf), vector_norm(need, idf))
    return dot / (norm_a * norm_b) if norm_a and norm_b else 0.0


def weightiest(shared: set[str], idf: dict[str, float]) -> list[str]:
    """The shared words that weigh most (the rarest), for the reason shown."""
    return sorted(shared, key=lambda t: -idf.get(t, 1.0))[:4]


def waste_code_closeness(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if a[:5] == b[:5]:
        return 0.6
    if a[:2] == b[:2]:
        return 0.3
    return 0.0


def quantity_fit(offer: Features, need: Features) -> float | None:
    """1 for the same yearly quantity, down to 0 when one is a hundred times the other;
    None when the quantities cannot be compared (unknown, or units of another dimension)."""
    # A one-off need against a recurring offer (or the reverse) compares one delivery with the lot.
    one_off = "once" in (offer.frequency, need.frequency) and offer.frequency != need.frequency
    qo, qn = (offer.base_quantity, need.base_quantity) if one_off else (offer.yearly_quantity, need.yearly_quantity)
    if not qo or not qn or qo[0] != qn[0] or qo[1] <= 0 or qn[1] <= 0:
        return None
    ratio = min(qo[1], qn[1]) / max(qo[1], qn[1])
    return max(0.0, 1.0 + math.log10(ratio) / 2)


def dates_compatible(offer: Features, need: Features) -> bool:
    start = max(d for d in (offer.available_from, need.available_from) if d) if (
        offer.available_from or need.available_from) else None
    end = min(d for d in (offer.available_until, need.available_until) if d) if (
        offer.available_until or need.available_until) else None
    return not (start and end and start > end)


def may_take_hazardous(need: Features, offer: Features) -> bool:
    """A hazardous lot only goes to a taker that declares it may treat it: the waste code or a treatment
    operation on its company profile, the same waste family on its need, or a licence stated in the need."""
    if not offer.is_hazardous:
        return True
    return (
        offer.waste_code in need.handled_waste_codes
        or bool(need.treatment_operations)
        or (need.waste_code is not None and need.waste_code[:5] == offer.waste_code[:5])
        or need.declares_authorisation
    )


def score(offer: Features, need: Features, vocabulary: Vocabulary, idf: dict[str, float],
          norm: Callable[[Features], float] | None = None, explain: bool = True) -> Scored | None:
    """The match of an offer and a need, or None when they are not a match. Without `explain`, the
    same score without its reasons."""
    if offer.company_id is not None and offer.company_id == need.company_id:
        return None
    shared = offer.concepts & need.concepts
    outlets = (offer.uses & need.concepts) - shared
    shared_terms = offer.term_set & need.term_set
    waste = waste_code_closeness(offer.waste_code, need.waste_code)
    if not (shared or outlets or shared_terms or waste):
        return None  # no evidence at all that they are about the same resource
    if not may_take_hazardous(need, offer) or not dates_compatible(offer, need):
        return None

    # What each listing is about is in its title; a concept seen only in both descriptions counts less.
    shared_weights = sorted(
        ((0.9 if c in offer.title_concepts or c in need.title_concepts else 0.45), c) for c in shared)[::-1]
    outlet_weights = sorted(
        ((0.8 if c in offer.title_uses else 0.35) * (1.0 if c in need.title_concepts else 0.8), c)
        for c in outlets)[::-1]
    concept_evidence = sum(w for w, _ in shared_weights[:2])
    use_evidence = sum(w for w, _ in outlet_weights[:2])
    similarity = cosine(offer, need, shared_terms, idf, norm) if shared_terms else 0.0
    text_evidence = 1.6 * similarity
    evidence = concept_evidence + use_evidence + text_evidence + 0.7 * waste
    if evidence < MIN_EVIDENCE:
        return None

    km = None
    if None not in (offer.latitude, offer.longitude, need.latitude, need.longitude):
        km = distance_km(offer.latitude, offer.longitude, need.latitude, need.longitude)
        if km > MAX_DISTANCE_KM:
            return None
    closeness = 1.0 if km is None else math.exp(-km / DISTANCE_SCALE_KM)
    same_category = offer.category == need.category
    fit = quantity_fit(offer, need)
    total = min(evidence, 3.0) * (0.55 + 0.45 * closeness)
    if same_category:
        total += 0.35
    if fit is not None:
        total += 0.35 * fit
    if not explain:
        return Scored(round(total, 4), [])

    reasons = [Reason("concept", vocabulary.label(c), w) for w, c in shared_weights[:3]]
    reasons += [Reason("use", vocabulary.label(c), w) for w, c in outlet_weights[:3]]
    if shared_terms and similarity >= 0.05:
        reasons.append(Reason("words", ", ".join(weightiest(shared_terms, idf)), text_evidence))
    if waste:
        reasons.append(Reason("waste_code", offer.waste_code[: 8 if waste == 1.0 else 5 if waste == 0.6 else 2], waste))
    if km is not None:
        reasons.append(Reason("distance", f"{km:.0f}", closeness))
    if same_category:
        reasons.append(Reason("category", offer.category, 0.35))
    if fit is not None and fit >= 0.5:
        reasons.append(Reason("quantity", f"{fit:.2f}", 0.35 * fit))
    return Scored(round(total, 4), reasons)


def rank(subject: Features, candidates: list[Features], vocabulary: Vocabulary, idf: dict[str, float],
         limit: int | None = None) -> list[tuple[Features, Scored]]:
    """Candidates of the opposite kind that match `subject`, best first (ties: nearest id first)."""
    subject_norm = vector_norm(subject, idf)

    def norm(features: Features) -> float:
        return subject_norm if features is subject else vector_norm(features, idf)

    is_offer = subject.kind == "offer"

    def pair(other: Features) -> tuple[Features, Features]:
        return (subject, other) if is_offer else (other, subject)

    concepts, uses, terms = subject.concepts, subject.uses, subject.term_set
    company, chapter = subject.company_id, (subject.waste_code or "")[:2]
    out = []
    for other in candidates:
        if other.kind == subject.kind or (company is not None and other.company_id == company):
            continue
        # Most candidates have no evidence at all: skipped here as `score` would reject them.
        if (terms.isdisjoint(other.term_set) and concepts.isdisjoint(other.concepts)
                and (uses if is_offer else other.uses).isdisjoint(other.concepts if is_offer else concepts)
                and not (chapter and other.waste_code and other.waste_code[:2] == chapter)):
            continue
        scored = score(*pair(other), vocabulary, idf, norm, explain=False)
        if scored is not None:
            out.append((other, scored))
    out.sort(key=lambda found: (-found[1].score, found[0].id))
    # The reasons of those kept only (the score is the same with or without them).
    return [(other, score(*pair(other), vocabulary, idf, norm)) for other, _ in (out[:limit] if limit else out)]
