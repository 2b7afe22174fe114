"""Resource auctions in the Concarneau format: sessions, rounds, lots, bids, awards, follow-up rounds."""
