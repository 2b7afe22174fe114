"""Synergies: exchanges between companies followed by practitioners from idea to completion."""
