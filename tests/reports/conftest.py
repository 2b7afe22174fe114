"""A reporting fixture: eleven synergies in t1 (every stage, ME and TH, stop reasons, declared and verified
benefits, dates spread over 2023-2025) and one in t2, over the shared `world`.

t1 (run by `practitioner`), created by hand between Alice's (a) and Bob's (b) companies:
  key  stage           kind cont. created (UTC)       stage changed (UTC)   benefits
  s1   idea            ME   no    2024-01-10           =                     -
  s2   discussion      ME   yes   2024-02-01           =                     declared: 12 t reused, 1 800 € saved
  s3   negotiation     TH   no    2024-03-05           =                     -
  s4   implementation  ME   yes   2023-06-01           =                     declared 300 MWh; verified: 250 MWh saved,
                                                                             50.50 t CO2e (entered), 12 000 € saved
  s5   completed       ME   no    2023-03-01           2023-11-15            verified: 8.5 t reused, 8.5 t diverted,
                                                                             1.25 t CO2e, 300 € saved
  s6   finalising      TH   no    2024-04-01           =                     verified: 2 jobs, 5 000 € private,
                                                                             2 500 € public investment
  s7   blocked (regulatory)  ME no 2024-01-20          2024-05-01            -
  s8   abandoned (distance)  ME no 2023-09-01          2023-12-20            -
  s9   abandoned (financial) TH no 2024-02-10          2024-06-15            declared: 120 m² shared
  s10  completed       ME   no    2024-07-01           2024-09-30            declared 25 t; verified: 20 t reused,
                                                                             18 t substituted, 4 000 € sales, CO2e
                                                                             from factor `test_ferraille` (1 500 kg/t)
                                                                             on 20 t = 30.00 t
  s11  idea            ME   no    2024-12-31 23:30 (= 1 Jan 2025 in Paris)  -
t2 (run by `other_practitioner`): t2s1 "Copeaux d'acier", discussion, ME, between Carol's company (c) and
`d`, verified 100 t reused and 200 t CO2e.
`both_practitioner` runs t1 and t2."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest


@pytest.fixture
def report_world(world, make_company, make_user):
    from marketplace.extensions import db
    from marketplace.synergies import services
    from marketplace.synergies.models import EmissionFactor

    practitioner, other = world["practitioner"], world["other_practitioner"]
    t1, t2, a, b, c = world["t1"], world["t2"], world["a"], world["b"], world["c"]
    d = make_company("Forges de Lanester", "56600")
    factor = EmissionFactor(key="test_ferraille", label="Ferraille (test)", kg_co2e_per_unit=Decimal("1500"),
                            unit="t", source="Facteur de test")
    db.session.add(factor)
    db.session.flush()

    def synergy(title, stage, kind="ME", continuous=False, reason=None, actor=practitioner, territory=t1,
                giver=a, taker=b):
        pipeline = stage not in ("blocked", "abandoned")
        made = services.create_manual(actor, territory, {"title": title, "kind": kind, "is_continuous": continuous,
                                                         "giver": giver, "taker": taker,
                                                         "stage": stage if pipeline else "discussion"})
        if not pipeline:
            services.move(actor, made, stage, reason)
        return made

    s = {
        "s1": synergy("Palettes consignées", "idea"),
        "s2": synergy("Drêches pour l'élevage", "discussion", continuous=True),
        "s3": synergy("Gardiennage mutualisé", "negotiation", kind="TH"),
        "s4": synergy("Chaleur fatale du four", "implementation", continuous=True),
        "s5": synergy("Cartons d'emballage", "completed"),
        "s6": synergy("Formation des caristes", "finalising", kind="TH"),
        "s7": synergy("Big bags", "blocked", reason="regulatory"),
        "s8": synergy("Boues de station", "abandoned", reason="distance"),
        "s9": synergy("Local partagé", "abandoned", kind="TH", reason="financial"),
        "s10": synergy("Ferraille de découpe", "completed"),
        "s11": synergy("Fûts vides", "idea"),
        "t2s1": synergy("Copeaux d'acier", "discussion", actor=other, territory=t2, giver=c, taker=d),
    }
    db.session.flush()
    services.declare_benefits(practitioner, s["s2"], {"tonnes_reused": Decimal("12"), "eur_saved": Decimal("1800")})
    services.declare_benefits(practitioner, s["s4"], {"mwh_saved": Decimal("300")})
    services.verify_benefits(practitioner, s["s4"], {"mwh_saved": Decimal("250"), "co2e_tonnes": Decimal("50.50"),
                                                     "eur_saved": Decimal("12000")})
    services.verify_benefits(practitioner, s["s5"], {"tonnes_reused": Decimal("8.5"), "tonnes_diverted": Decimal("8.5"),
                                                     "co2e_tonnes": Decimal("1.25"), "eur_saved": Decimal("300")})
    services.verify_benefits(practitioner, s["s6"], {"jobs": Decimal("2"), "private_investment_eur": Decimal("5000"),
                                                     "public_investment_eur": Decimal("2500")})
    services.declare_benefits(practitioner, s["s9"], {"m2_shared": Decimal("120")})
    services.declare_benefits(practitioner, s["s10"], {"tonnes_reused": Decimal("25")})
    services.verify_benefits(practitioner, s["s10"], {"tonnes_reused": Decimal("20"),
                                                      "tonnes_virgin_substituted": Decimal("18"),
                                                      "eur_additional_sales": Decimal("4000")},
                             factor=factor, basis="tonnes_reused")
    services.verify_benefits(other, s["t2s1"], {"tonnes_reused": Decimal("100"), "co2e_tonnes": Decimal("200")})
    # The services stamp creation and stage changes with "now": give them the dates of the table above.
    dates = {"s5": datetime(2023, 11, 15, 12), "s7": datetime(2024, 5, 1, 9), "s8": datetime(2023, 12, 20, 9),
             "s9": datetime(2024, 6, 15, 9), "s10": datetime(2024, 9, 30, 9)}
    created = {"s1": datetime(2024, 1, 10, 9), "s2": datetime(2024, 2, 1, 9), "s3": datetime(2024, 3, 5, 9),
               "s4": datetime(2023, 6, 1, 9), "s5": datetime(2023, 3, 1, 9), "s6": datetime(2024, 4, 1, 9),
               "s7": datetime(2024, 1, 20, 9), "s8": datetime(2023, 9, 1, 9), "s9": datetime(2024, 2, 10, 9),
               "s10": datetime(2024, 7, 1, 9), "s11": datetime(2024, 12, 31, 23, 30), "t2s1": datetime(2024, 5, 1, 9)}
    for key, synergy_ in s.items():
        synergy_.created_at = created[key]
        synergy_.stage_changed_at = dates.get(key, created[key])
    both = make_user("anim@bretagne-sud.fr", role="practitioner", territories=[t1, t2])
    db.session.commit()
    return {**world, **s, "d": d, "factor": factor, "both_practitioner": both}
