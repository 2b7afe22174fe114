"""The French text analysis shared by the search index and by matching: tokens, French stop words
and the field's filler words removed, Snowball French stemming, then accents folded, so that
« réfrigéré », « refrigeree » and « réfrigérés » meet."""
from __future__ import annotations

import functools

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

# Words every ad uses that say nothing about the resource itself.
DOMAIN_STOPWORDS = frozenset("""
    cherche cherchons recherche recherchons besoin besoins propose proposons proposer disponible disponibles
    dispo offre offres donne donner vend vendre notre nos votre vos leur leurs tout tous toute toutes
    chaque par pour avec sans sur sous dans des une un les la le du de au aux en et ou très bien
    issu issus issue issues environ merci contact contacter contactez possible possibilité
    entreprise société sarl sas
    jour jours semaine semaines mois an ans année années fois tonne tonnes kilo kilos litre litres environ
""".split())
STOPWORDS = frozenset(stopwords_for_language("fr")) | DOMAIN_STOPWORDS
# Abbreviations of the field are kept whole: stemming "grvs" (big bag) would make it "grv" (IBC).
UNSTEMMED = frozenset("""
    grvs grv ibc pse deee d3e icpe caces csr pehd pebd pet pvc epdm co2 ba13 sst qse hse rh pl pe pp
    vhu dasri dib dnd ddae cov bts gnr
""".split())


@functools.cache
def french_analyzer():
    """The Whoosh analyzer of the architecture guide (plus the field's stop words)."""
    return (
        RegexTokenizer(r"\w+")
        | LowercaseFilter()
        | StopFilter(stoplist=STOPWORDS, minsize=2)
        | StemFilter(lang="fr", ignore=UNSTEMMED)
        | CharsetFilter(accent_map)
    )


def analyze(text: str | None) -> list[str]:
    """Index terms of a text, in order (repeats kept)."""
    if not text:
        return []
    return [t.text for t in french_analyzer()(text) if not t.text.isdigit()]


def analyze_words(text: str | None) -> list[tuple[str, str]]:
    """Index terms of a text with the word each comes from, as written: a backend that analyses text
    itself (PostgreSQL) is given the words, the others the terms."""
    if not text:
        return []
    return [(t.text, text[t.startchar:t.endchar]) for t in french_analyzer()(text, chars=True)
            if not t.text.isdigit()]


@functools.cache
def spelling_analyzer():
    """Words as written (lower-cased, accents kept): the vocabulary of spelling suggestions."""
    return RegexTokenizer(r"\w+") | LowercaseFilter() | StopFilter(stoplist=STOPWORDS, minsize=3)


def spelling_words(text: str | None) -> list[tuple[str, int, int]]:
    """The words of a text that spelling suggestions consider, with where each is in the text."""
    if not text:
        return []
    return [(t.text, t.startchar, t.endchar) for t in spelling_analyzer()(text, chars=True)]


@functools.cache
def analyze_term(term: str) -> tuple[str, ...]:
    """A thesaurus term (one or several words) as its tuple of index terms."""
    return tuple(analyze(term))
