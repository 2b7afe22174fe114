"""The field's vocabulary, shipped as data and editable by administrators: a thesaurus of synonyms
and abbreviations, and the resource → use knowledge (which outlets a resource usually goes to).
Search expands queries with it; matching uses it to connect a resource to the needs it can serve."""
