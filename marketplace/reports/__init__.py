"""Territory reports: the practitioners' dashboard of synergies and benefits, with its exports."""
