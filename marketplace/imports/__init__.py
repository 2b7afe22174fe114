"""Spreadsheet import of companies and listings (CSV or XLSX): `rows.py` reads and checks the file
without touching the database, `services.py` writes it, `views.py` and `cli.py` are the two ways in."""
