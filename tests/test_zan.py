"""ZAN trajectory: hand-computed reference, guarantee, target cascade, projection, exhaustion, path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ocsol.consumption import consumption_by_year
from ocsol.errors import ConfigError, SchemaError
from ocsol.io.cerema import read_cerema
from ocsol.io.targets import read_targets
from ocsol.io.territories import read_territories
from ocsol.territories import Territories, aggregate
from ocsol.zan import STATUSES, ZAN_COLUMNS, zan_path, zan_trajectory

LYON = Path(__file__).resolve().parents[1] / "data" / "lyon"


def territories() -> Territories:
    """Communes A, B (EPCI E1) and C (EPCI E2); all three in SCoT S."""
    comm = pd.DataFrame({"code": ["A", "B", "C"], "name": ["a", "b", "c"], "area_m2": [1e6] * 3})
    memb = pd.DataFrame({"code": ["A", "B", "C"], "epci": ["E1", "E1", "E2"], "scot": ["S", "S", "S"]})
    names = pd.DataFrame({"level": ["commune"] * 3 + ["epci", "epci", "scot"],
                          "code": ["A", "B", "C", "E1", "E2", "S"], "name": ["a", "b", "c", "E1", "E2", "S"]})
    return Territories(communes=comm, membership=memb, levels=("epci", "scot"), names=names)


def consumption(per_year: dict[str, dict[int, float]], t: Territories) -> pd.DataFrame:
    rows = [(c, y, v) for c, years in per_year.items() for y, v in years.items()]
    base = pd.DataFrame(rows, columns=["code", "year", "total_ha"])
    return aggregate(base, t, values=["total_ha"], by=["year"])


def flat(value: float, years=range(2011, 2024)) -> dict[int, float]:
    return {y: value for y in years}


@pytest.fixture
def case():
    t = territories()
    # A: 0.05 ha/yr → reference 0.5 ha (tiny); B: 4 ha/yr until 2020, 2 ha/yr after; C: 1 ha/yr
    b = {**flat(4.0, range(2011, 2021)), **flat(2.0, range(2021, 2024))}
    return t, consumption({"A": flat(0.05), "B": b, "C": flat(1.0)}, t)


def row(z: pd.DataFrame, level: str, code: str) -> pd.Series:
    return z.set_index(["level", "code"]).loc[(level, code)]


def test_columns_reference_and_guarantee(case):
    t, conso = case
    before = conso.copy()
    z = zan_trajectory(conso, t)
    pd.testing.assert_frame_equal(conso, before)
    assert list(z.columns) == ZAN_COLUMNS
    a = row(z, "commune", "A")
    assert a["reference_ha"] == pytest.approx(0.5)  # 10 flows 2011..2020, not 11
    assert a["allowed_ha"] == 1.0 and bool(a["guarantee_applied"])  # 0.25 raised to the 1 ha guarantee
    # EPCI E1 = A + B: reference 40.5, allowance 20.25, never the guarantee
    e1 = row(z, "epci", "E1")
    assert e1["reference_ha"] == pytest.approx(40.5)
    assert e1["allowed_ha"] == pytest.approx(20.25) and not bool(e1["guarantee_applied"])


def test_epci_with_tiny_reference_gets_no_guarantee():
    comm = pd.DataFrame({"code": ["A"], "name": ["a"], "area_m2": [1e6]})
    t = Territories(communes=comm, membership=pd.DataFrame({"code": ["A"], "epci": ["E"]}), levels=("epci",))
    z = zan_trajectory(consumption({"A": flat(0.01)}, t), t)
    assert row(z, "commune", "A")["allowed_ha"] == 1.0
    assert row(z, "epci", "E")["allowed_ha"] == pytest.approx(0.05)
    assert not bool(row(z, "epci", "E")["guarantee_applied"])


def test_projection_is_pace_times_ten_and_status(case):
    t, conso = case
    b = row(zan_trajectory(conso, t), "commune", "B")
    assert b["years_observed"] == 3 and b["consumed_since_ha"] == pytest.approx(6.0)
    assert b["annual_pace_ha"] == pytest.approx(2.0)
    assert b["projected_ha"] == pytest.approx(20.0)  # × 10 years of 2021–2030, not × 9
    assert b["used_pct"] == pytest.approx(30.0) and b["projected_pct"] == pytest.approx(100.0)
    # exactly on the allowance; a national default gives no status, only an indicative reading
    assert b["status"] == "" and b["indicative_status"] == "within" and pd.isna(b["exhaustion_year"])
    c = row(zan_trajectory(conso, t), "commune", "C")
    # C: allowance 5, consumed 3, pace 1 → cumulative passes 5 during 2026 (end 2025 = 5, 2026 = 6)
    assert c["indicative_status"] == "will_exceed" and c["exhaustion_year"] == 2026


def test_exceeded_uses_the_observed_year():
    t = territories()
    conso = consumption({"C": {**flat(1.0, range(2011, 2021)), 2021: 3.0, 2022: 3.0, 2023: 0.0}}, t)
    c = row(zan_trajectory(conso, t), "commune", "C")
    assert c["indicative_status"] == "exceeded" and c["exhaustion_year"] == 2022  # 3 ≤ 5, 6 > 5
    assert c["used_pct"] == pytest.approx(120.0)


def test_target_cascade_own_inherited_default(case, tmp_path):
    t, conso = case
    p = tmp_path / "targets.csv"
    pd.DataFrame({"level": ["scot", "commune"], "code": ["S", "C"], "target_pct": ["40", "60 %"],
                  "document": ["SCoT", "PLU"], "doc_status": ["opposable", "projet"]}).to_csv(p, index=False)
    targets = read_targets(p)
    z = zan_trajectory(conso, t, targets=targets)
    b = row(z, "commune", "B")
    assert b["target_pct"] == 40.0 and b["target_source"] == "parent:scot:S" and not b["binding"]
    assert b["allowed_ha"] == pytest.approx(24.0) and b["status"] == ""
    c = row(z, "commune", "C")
    assert c["target_source"] == "own" and c["target_pct"] == 60.0 and not c["binding"]  # a projet binds nothing
    assert row(z, "epci", "E1")["target_source"] == "parent:scot:S"  # all its communes in S
    s = row(z, "scot", "S")
    assert s["target_source"] == "own" and s["binding"] and s["target_document"] == "SCoT"
    assert s["status"] in STATUSES and s["indicative_status"] == ""
    z0 = zan_trajectory(conso, t)
    assert set(z0["target_source"]) == {"national_default"} and set(z0["status"]) == {""}
    assert set(zan_trajectory(conso, t, national_default_pct=54.5)["target_pct"]) == {54.5}


def test_parent_with_mixed_parents_does_not_inherit(case):
    t, conso = case
    memb = t.membership.assign(scot=["S", "S", "T"])
    t2 = Territories(communes=t.communes, membership=memb, levels=t.levels, names=t.names)
    targets = pd.DataFrame({"level": ["scot"], "code": ["S"], "target_pct": [40.0], "source": ["SCoT"]})
    c2 = consumption({"A": flat(0.05), "B": flat(4.0), "C": flat(1.0)}, t2)
    z = zan_trajectory(c2, t2, targets=targets)
    assert row(z, "epci", "E1")["target_pct"] == 40.0  # A, B both in S
    assert row(z, "epci", "E2")["target_source"] == "national_default"  # C is in T


def test_errors(case, tmp_path):
    t, conso = case
    with pytest.raises(SchemaError, match="reference decade 2009–2018 also needs 2009, 2010"):
        zan_trajectory(conso, t, reference=(2009, 2018))
    with pytest.raises(ConfigError, match=r"decades #1 = \[2032, 2040\]"):
        zan_trajectory(conso, t, decades=[[2032, 2040, 50]])
    with pytest.raises(ConfigError, match="reduction 150 %"):
        zan_trajectory(conso, t, decades=[[2031, 2040, 150]])
    with pytest.raises(ConfigError, match=r"\[zan\].period = \[2030, 2021\]"):
        zan_trajectory(conso, t, period=(2030, 2021))
    p = tmp_path / "targets.csv"
    pd.DataFrame({"level": ["scot", "scot"], "code": ["S", "S"], "target_pct": ["140", "x"]}).to_csv(p, index=False)
    with pytest.raises(SchemaError, match=r"line 2 \(scot S\): target_pct '140'.*line 3.*duplicate target"):
        read_targets(p)


def test_zan_path_stops_at_the_period_unless_decades_are_configured(case):
    t, conso = case
    z = zan_trajectory(conso, t)
    assert zan_path(z)["year"].max() == 2030  # no default envelope after 2031
    path = zan_path(z, decades=[[2031, 2040, 50], [2041, 2050, 100]])
    c = path[(path["level"] == "commune") & (path["code"] == "C")].set_index("year")
    assert c.index.min() == 2021 and c.index.max() == 2050
    assert c.loc[2021, "annual_allowed_ha"] == pytest.approx(0.5)
    assert c.loc[2030, "allowed_cumulative_ha"] == pytest.approx(5.0)
    assert c.loc[2035, "envelope_ha"] == pytest.approx(2.5) and c.loc[2035, "basis"] == "indicative_enaf"
    assert c.loc[2050, "allowed_cumulative_ha"] == pytest.approx(7.5)
    a = path[(path["level"] == "commune") & (path["code"] == "A")].set_index("year")
    # A: reference 0.5 → 0.25 raised to the 1 ha guarantee for 2021–2030 only; 2031–2040 = 0.25 / 2
    assert a.loc[2025, "envelope_ha"] == pytest.approx(1.0)
    assert a.loc[2035, "envelope_ha"] == pytest.approx(0.125)


@pytest.mark.slow
def test_lyon_metropole_figures():
    t = read_territories(LYON / "communes_metropole_lyon.csv", area="surface_ha",
                         levels={"epci": "epci_siren"})
    z = zan_trajectory(consumption_by_year(read_cerema(LYON / "conso_communes_cerema_format.csv"), t), t)
    m = row(z, "epci", "200046977")
    assert m["reference_ha"] == pytest.approx(827.7454)
    assert m["allowed_ha"] == pytest.approx(413.8727)
    assert m["consumed_since_ha"] == pytest.approx(149.8944) and m["years_observed"] == 3
    assert m["projected_ha"] == pytest.approx(499.648)
    assert m["status"] == "" and m["indicative_status"] == "will_exceed" and m["exhaustion_year"] == 2029
    communes = z[z["level"] == "commune"]
    assert len(communes) == 58
    assert communes["reference_ha"].sum() == pytest.approx(m["reference_ha"])
    # the guarantee applies to communes only, where half the reference is below 1 ha
    g = communes[communes["guarantee_applied"]]
    assert (g["reference_ha"] < 2.0).all() and (g["allowed_ha"] == 1.0).all()


def test_region_default_applies_to_the_region_level_only():
    comm = pd.DataFrame({"code": ["A", "B"], "name": ["a", "b"], "area_m2": [1e6] * 2})
    memb = pd.DataFrame({"code": ["A", "B"], "region": ["84", "11"]})
    t = Territories(communes=comm, membership=memb, levels=("region",))
    z = zan_trajectory(consumption({"A": flat(2.0), "B": flat(2.0)}, t), t)
    assert row(z, "region", "84")["target_source"] == "region_default"
    assert row(z, "region", "84")["allowed_ha"] == pytest.approx(20.0 * (1 - 0.545))
    assert row(z, "region", "11")["target_source"] == "national_default"  # Île-de-France: SDRIF
    assert row(z, "commune", "A")["target_source"] == "national_default"  # not passed on to communes
    assert set(z["status"]) == {""}


def test_guarantee_documents_by_parent_code_cutoff_and_cap():
    from datetime import date

    from ocsol.zan_rules import commune_guarantees

    t = territories()
    docs = pd.DataFrame({"code": ["E1", "C"], "type": ["PLUi", "CC"],
                         "prescription_date": [None, date(2026, 8, 22)], "arret_date": [None, None],
                         "approval_date": [date(2026, 8, 21), None]})
    g = commune_guarantees(t, documents=docs).set_index("code")
    assert g["guarantee_reason"].to_dict() == {"A": "eligible", "B": "eligible", "C": "not_eligible"}  # not before
    assert g["guarantee_ha"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0}
    dele = pd.DataFrame({"old_code": ["x", "y", "z", "w"], "new_code": ["A"] * 4, "type": ["commune-deleguee"] * 4,
                         "creation_date": [date(2016, 1, 1)] * 4})
    total = commune_guarantees(t, deleguees=dele).set_index("code").loc["A"]
    assert (total["guarantee_ha"], total["guarantee_reason"]) == (2.0, "commune_nouvelle")  # 1 + 4 × 0.5 ≤ 2
    bonus = commune_guarantees(t, deleguees=dele, cap_applies_to="bonus").set_index("code").loc["A"]
    assert bonus["guarantee_ha"] == 3.0  # 1 + min(2, 4 × 0.5)
    pool = commune_guarantees(t, mutualisation=pd.DataFrame({"commune": ["A"], "epci": ["E1"]}))
    assert pool.set_index("code").loc["A", "pooled_by"] == "E1"
    z = zan_trajectory(consumption({"A": flat(0.05), "B": flat(4.0), "C": flat(1.0)}, t), t,
                       guarantees=pool, pool_amount="guarantee")
    assert row(z, "commune", "A")["allowed_ha"] == pytest.approx(0.25) and row(z, "epci", "E1")["pooled_ha"] == 1.0


def test_net_artificialisation_after_2031(tmp_path):
    from ocsol.io.targets import net_targets_from_config
    from ocsol.zan_2031 import net_trajectory

    flows = pd.DataFrame({"level": ["epci", "epci", "epci", "epci"], "code": ["E", "E", "F", "F"],
                          "vintage_from": [2015, 2021, 2018, 2032], "vintage_to": [2021, 2024, 2021, 2035],
                          "net_artif_ha": [60.0, 24.0, 9.0, 6.0]})
    nt = net_targets_from_config([
        {"level": "epci", "code": "E", "period": [2031, 2040], "reduction_pct": 50, "reference": [2015, 2021],
         "document": "SRADDET", "doc_status": "opposable"},
        {"level": "epci", "code": "F", "period": [2031, 2040], "envelope_ha": 30.0, "doc_status": "opposable"},
    ])
    z = net_trajectory(flows, nt).set_index("code")
    # E: reference 60 ha / 6 yr = 10 ha/yr, −50 % over 10 years = 50 ha; observed 24/3 = 8 ha/yr > 5 ha/yr
    assert z.loc["E", "envelope_ha"] == pytest.approx(50.0) and z.loc["E", "observed_annual_ha"] == pytest.approx(8.0)
    assert z.loc["E", "observed_pct"] == pytest.approx(160.0)
    assert z.loc["E", "status"] == "" and z.loc["E", "indicative_status"] == "above"  # observed before 2031
    # F: observed 2032–2035 inside the decade, binding: 2 ha/yr within 3 ha/yr → a status
    assert z.loc["F", "status"] == "within" and z.loc["F", "horizon"] == 2050
    assert len(net_trajectory(flows, None)) == 2  # no default envelope after 2031
    assert net_trajectory(flows, None)["envelope_ha"].isna().all()
    both = pd.concat([flows.assign(measure="custom_rule", net_artif_ha=flows["net_artif_ha"] * 2),
                      flows.assign(measure="decret_matrix")], ignore_index=True)
    m = net_trajectory(both, nt).set_index("code")  # one measure per territory, the decree's first
    assert set(m["measure"]) == {"decret_matrix"} and m.loc["E", "observed_annual_ha"] == pytest.approx(8.0)
    with pytest.raises(ConfigError, match="give envelope_ha or reduction_pct"):
        net_targets_from_config([{"level": "epci", "code": "E", "period": [2031, 2040]}])


def test_communes_touched_by_a_pene_perimeter(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from ocsol.io.vector import read_layer, working_crs
    from ocsol.zan_rules import communes_touched

    comm = gpd.GeoDataFrame({"code": ["A", "B", "C"], "name": ["a", "b", "c"], "area_m2": [1e6] * 3},
                            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(5000, 0, 6000, 1000)],
                            crs="EPSG:2154")
    t = Territories(communes=comm, membership=pd.DataFrame({"code": ["A", "B", "C"]}))
    p = tmp_path / "pene.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(900, 0, 1300, 500)], crs="EPSG:2154").to_file(p)
    perimeters, _ = read_layer(p, what="PENE perimeter", crs=working_crs("EPSG:2154"))
    out = communes_touched(perimeters, t)
    assert out["code"].tolist() == ["A", "B"]
    assert out["perimeter_area_ha"].tolist() == pytest.approx([100 * 500 / 1e4, 300 * 500 / 1e4])
