"""Pure parsing and lookup of the vocabulary documents (no database).

Thesaurus: one group of equivalent terms per line, comma-separated
    grand récipient vrac souple, grvs, big bag, sac vrac
Uses: one rule per line, resources on the left, their usual outlets on the right
    graisses, huiles alimentaires usagées => méthanisation, biocarburant
    @02 07 => alimentation animale, méthanisation        (a waste-code prefix on the left)
Lines starting with # are comments. Terms are compared after French analysis (stemmed, no accents),
so singular/plural and accents do not matter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from marketplace.search.analysis import analyze_term


class VocabularyError(ValueError):
    """A line that cannot be understood; `line` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(f"ligne {line} : {message}")
        self.line = line


def _terms(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


@dataclass
class Vocabulary:
    # term (tuple of index terms) → concept id; a concept is a synonym group (or a lone term of a rule)
    term_concept: dict[tuple[str, ...], int] = field(default_factory=dict)
    concept_label: dict[int, str] = field(default_factory=dict)
    concept_terms: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)
    # term → its first spelling in the documents (a phrase for backends that analyse text themselves)
    term_text: dict[tuple[str, ...], str] = field(default_factory=dict)
    # resource concept → use concepts; waste-code prefix → use concepts
    uses: dict[int, set[int]] = field(default_factory=dict)
    code_uses: dict[str, set[int]] = field(default_factory=dict)
    longest: int = 1

    def concept_for(self, term: str, create: bool = True) -> int | None:
        key = analyze_term(term)
        if not key:
            return None
        concept = self.term_concept.get(key)
        if concept is None and create:
            concept = len(self.concept_label) + 1
            self.concept_label[concept] = term
            self.concept_terms[concept] = [key]
            self.term_concept[key] = concept
            self.term_text[key] = term
            self.longest = max(self.longest, len(key))
        return concept

    def find_concepts(self, tokens: list[str]) -> set[int]:
        """Concepts whose terms occur in a token sequence (multi-word terms as consecutive tokens)."""
        found: set[int] = set()
        n = len(tokens)
        for i in range(n):
            for size in range(1, min(self.longest, n - i) + 1):
                concept = self.term_concept.get(tuple(tokens[i:i + size]))
                if concept is not None:
                    found.add(concept)
        return found

    def uses_of(self, concepts: set[int], waste_code: str | None = None) -> set[int]:
        out: set[int] = set()
        for c in concepts:
            out |= self.uses.get(c, set())
        if waste_code:
            compact = waste_code.replace(" ", "")
            for prefix, uses in self.code_uses.items():
                if compact.startswith(prefix):
                    out |= uses
        return out

    def concept_tokens(self, concepts) -> set[str]:
        """Every index term that can express one of these concepts (the words of all its terms)."""
        return {token for c in concepts for term in self.concept_terms.get(c, ()) for token in term}

    def resources_for(self, uses: set[int]) -> tuple[set[int], set[str]]:
        """Resource concepts and waste-code prefixes whose usual outlets include one of these uses."""
        concepts = {r for r, outlets in self.uses.items() if outlets & uses}
        prefixes = {p for p, outlets in self.code_uses.items() if outlets & uses}
        return concepts, prefixes

    def synonyms(self, term_tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
        concept = self.term_concept.get(term_tokens)
        return self.concept_terms.get(concept, []) if concept else []

    def text(self, term_tokens: tuple[str, ...]) -> str:
        """A term as written in the documents (its index terms if it is not in them)."""
        return self.term_text.get(term_tokens) or " ".join(term_tokens)

    def label(self, concept: int) -> str:
        return self.concept_label.get(concept, "?")


def parse(thesaurus_text: str, uses_text: str) -> Vocabulary:
    """Build the vocabulary; raises VocabularyError naming the first bad line of either document."""
    vocab = Vocabulary()
    for number, line in enumerate(thesaurus_text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        terms = _terms(line)
        if len(terms) < 2:
            raise VocabularyError(number, "un groupe de synonymes compte au moins deux termes séparés par des virgules")
        keys = [analyze_term(t) for t in terms]
        empty = [t for t, k in zip(terms, keys) if not k]
        if empty:
            raise VocabularyError(number, f"« {empty[0]} » ne contient que des mots vides (le, de, son…) : reformulez-le")
        concept = next((vocab.term_concept[k] for k in keys if k in vocab.term_concept), None)
        if concept is None:
            concept = len(vocab.concept_label) + 1
            vocab.concept_label[concept] = terms[0]
            vocab.concept_terms[concept] = []
        for term, key in zip(terms, keys):
            if key not in vocab.term_concept:
                vocab.term_concept[key] = concept
                vocab.concept_terms[concept].append(key)
                vocab.term_text[key] = term
                vocab.longest = max(vocab.longest, len(key))
    for number, line in enumerate(uses_text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=>" not in line:
            raise VocabularyError(number, "une règle s'écrit « ressources => débouchés »")
        left, right = (part.strip() for part in line.split("=>", 1))
        outlets = {c for c in (vocab.concept_for(t) for t in _terms(right)) if c}
        if not outlets or not left:
            raise VocabularyError(number, "indiquez au moins une ressource et un débouché")
        for item in _terms(left):
            if item.startswith("@"):
                prefix = re.sub(r"\s", "", item[1:])
                if not prefix.isdigit() or len(prefix) not in (2, 4, 6):
                    raise VocabularyError(number, f"préfixe de code déchet invalide « {item} » (ex. @02 07)")
                vocab.code_uses.setdefault(prefix, set()).update(outlets)
            else:
                concept = vocab.concept_for(item)
                if concept:
                    vocab.uses.setdefault(concept, set()).update(outlets)
    return vocab
