"""Full-text search (Whoosh). The only package that imports whoosh."""
