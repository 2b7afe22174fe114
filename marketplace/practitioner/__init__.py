"""The practitioner's workspace: moderation queue, dormant-ad relaunch, workshops and reports."""
