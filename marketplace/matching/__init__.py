"""Matching (mise en relation): for a published offer, the needs it can serve; for a need, the
offers that can serve it. Scoring is pure (`scoring.py`); `services.py` selects candidates from the
database and stores matches; `tasks.py` runs it as a job after publication."""
