"""Territories (set of postcodes, départements or a radius), practitioners, trusted companies."""
