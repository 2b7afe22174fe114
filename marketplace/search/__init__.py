"""Full-text search: the shared query rules (queries.py), the index writer (indexing.py, tasks.py)
and two backends (backends/): Whoosh files (the only package importing whoosh) or PostgreSQL."""
