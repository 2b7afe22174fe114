"""Scoring an offer against a need (pure functions, no database).

The score adds evidence that the two are about the same resource — shared concepts of the thesaurus,
an outlet the resource usually goes to (resource → use knowledge), shared rare words, the same
waste-code family — then weighs it by closeness: distance decay, compatible quantities, same category.
Pairs without evidence of the same resource are never matches, however close. Every component that
counts leaves a reason, so a person can see why two listings were put in touch."""
from __future__ import annotations

import math
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


def text_similarity(offer: Features, need: Features, idf: dict[str, float]) -> tuple[float, list[str]]:
    """Cosine of the tf-idf vectors of the two texts, with the shared words that weigh most."""
    a, b = offer.term_counts, need.term_counts
    shared = set(a) & set(b)
    if not shared:
        return 0.0, []

    def weight(counts, term):
        return (1 + math.log(counts[term])) * idf.get(term, 1.0)

    dot = sum(weight(a, t) * weight(b, t) for t in shared)
    norm_a = math.sqrt(sum(weight(a, t) ** 2 for t in a))
    norm_b = math.sqrt(sum(weight(b, t) ** 2 for t in b))
    top = sorted(shared, key=lambda t: -idf.get(t, 1.0))[:4]
    return (dot / (norm_a * norm_b) if norm_a and norm_b else 0.0), top


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


def score(offer: Features, need: Features, vocabulary: Vocabulary, idf: dict[str, float]) -> Scored | None:
    """The match of an offer and a need, or None when they are not a match."""
    if offer.company_id is not None and offer.company_id == need.company_id:
        return None
    if not may_take_hazardous(need, offer) or not dates_compatible(offer, need):
        return None

    reasons: list[Reason] = []
    # What each listing is about is in its title; a concept seen only in both descriptions counts less.
    shared = offer.concepts & need.concepts
    shared_weights = sorted(
        ((0.9 if c in offer.title_concepts or c in need.title_concepts else 0.45), c) for c in shared)[::-1]
    outlets = (offer.uses & need.concepts) - shared
    outlet_weights = sorted(
        ((0.8 if c in offer.title_uses else 0.35) * (1.0 if c in need.title_concepts else 0.8), c)
        for c in outlets)[::-1]
    concept_evidence = sum(w for w, _ in shared_weights[:2])
    use_evidence = sum(w for w, _ in outlet_weights[:2])
    for w, c in shared_weights[:3]:
        reasons.append(Reason("concept", vocabulary.label(c), w))
    for w, c in outlet_weights[:3]:
        reasons.append(Reason("use", vocabulary.label(c), w))

    similarity, words = text_similarity(offer, need, idf)
    text_evidence = 1.6 * similarity
    if words and similarity >= 0.05:
        reasons.append(Reason("words", ", ".join(words), text_evidence))

    waste = waste_code_closeness(offer.waste_code, need.waste_code)
    if waste:
        reasons.append(Reason("waste_code", offer.waste_code[: 8 if waste == 1.0 else 5 if waste == 0.6 else 2], waste))

    evidence = concept_evidence + use_evidence + text_evidence + 0.7 * waste
    if evidence < MIN_EVIDENCE:
        return None

    closeness = 1.0
    if None not in (offer.latitude, offer.longitude, need.latitude, need.longitude):
        km = distance_km(offer.latitude, offer.longitude, need.latitude, need.longitude)
        if km > MAX_DISTANCE_KM:
            return None
        closeness = math.exp(-km / DISTANCE_SCALE_KM)
        reasons.append(Reason("distance", f"{km:.0f}", closeness))

    total = min(evidence, 3.0) * (0.55 + 0.45 * closeness)
    if offer.category == need.category:
        total += 0.35
        reasons.append(Reason("category", offer.category, 0.35))
    fit = quantity_fit(offer, need)
    if fit is not None:
        total += 0.35 * fit
        if fit >= 0.5:
            reasons.append(Reason("quantity", f"{fit:.2f}", 0.35 * fit))
    return Scored(round(total, 4), reasons)


def rank(subject: Features, candidates: list[Features], vocabulary: Vocabulary, idf: dict[str, float],
         limit: int | None = None) -> list[tuple[Features, Scored]]:
    """Candidates of the opposite kind that match `subject`, best first (ties: nearest id first)."""
    out = []
    for other in candidates:
        if other.kind == subject.kind:
            continue
        offer, need = (subject, other) if subject.kind == "offer" else (other, subject)
        scored = score(offer, need, vocabulary, idf)
        if scored is not None:
            out.append((other, scored))
    out.sort(key=lambda pair: (-pair[1].score, pair[0].id))
    return out[:limit] if limit else out
