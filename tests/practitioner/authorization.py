"""The practitioner workspace's rows of the route × role matrix (tests/test_authorization.py)."""
from tests.test_authorization import LOGIN, expect

GET_ROWS = [
    ("practitioner.index", "/animation", expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200,
                                                 admin=200)),
]
POST_ROWS = []
