import pytest


@pytest.fixture
def make_listing(make_listing):
    """The shared factory, without its default description and waste code (they would match words
    the search tests look for)."""

    def make(company, status="published", **fields):
        fields.setdefault("description", "")
        fields.setdefault("waste_code", None)
        return make_listing(company, status, **fields)

    return make
