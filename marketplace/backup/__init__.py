"""Backups of an instance: its database (every table but the search index, which is derived), its
uploaded files and its settings, in one archive; restored into an empty instance."""
