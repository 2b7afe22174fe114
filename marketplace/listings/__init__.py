"""Offers and needs: the ads companies post, their life cycle, photos and browsing."""
