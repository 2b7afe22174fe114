"""Workshops (ateliers): a practitioner gathers the companies of a territory, enters their haves and
wants, and hands each company its report of opportunities right after."""
