"""Companies, their sites, colleagues' invitations and solution-provider capabilities."""
