"""The territory reports' rows of the route × role matrix (tests/test_authorization.py): the dashboard
and its two exports are for practitioners (on their own territories) and administrators. Another's
territory in the filter is a 404; a filter that does not read is a message on the dashboard (200) and
a 400 on an export. No POST routes."""
from tests.test_authorization import LOGIN, expect

PRACTITIONERS = expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)
ONLY_T1 = expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=404, admin=200)
ONLY_T2 = expect(403, anonymous=LOGIN, practitioner=404, other_practitioner=200, admin=200)
NOBODYS = expect(403, anonymous=LOGIN, practitioner=404, other_practitioner=404, admin=404)
REFUSED = expect(403, anonymous=LOGIN, practitioner=400, other_practitioner=400, admin=400)

GET_ROWS = [
    ("reports.dashboard", "/animation/rapports", PRACTITIONERS),
    ("reports.dashboard", "/animation/rapports?territoire={t1.id}&du=2024-01-01&au=2030-12-31", ONLY_T1),
    ("reports.dashboard", "/animation/rapports?territoire={t2.id}", ONLY_T2),
    ("reports.dashboard", "/animation/rapports?territoire=999999", NOBODYS),
    # Filters that do not read: a message on the page, the filter ignored.
    ("reports.dashboard", "/animation/rapports?territoire=abc&du=<script>&au=2024-02-30", PRACTITIONERS),
    ("reports.dashboard", "/animation/rapports?du=2024-12-31&au=2024-01-01", PRACTITIONERS),
]
for _export in ("export_csv", "export.csv"), ("export_xlsx", "export.xlsx"):
    _endpoint, _path = f"reports.{_export[0]}", f"/animation/rapports/{_export[1]}"
    GET_ROWS += [
        (_endpoint, _path, PRACTITIONERS),
        (_endpoint, _path + "?territoire={t1.id}&du=2024-01-01", ONLY_T1),
        (_endpoint, _path + "?territoire={t2.id}&au=2030-12-31", ONLY_T2),
        (_endpoint, _path + "?territoire=999999", NOBODYS),
        (_endpoint, _path + "?territoire=abc", REFUSED),
        (_endpoint, _path + "?du=2024-02-30", REFUSED),
        (_endpoint, _path + "?du=2024-12-31&au=2024-01-01", REFUSED),
    ]
POST_ROWS = []
