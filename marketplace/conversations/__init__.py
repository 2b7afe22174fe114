"""Answers to listings ("je suis intéressé") and the conversation they open between two companies."""
