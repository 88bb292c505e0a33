"""Efficiency (m² per new inhabitant, households+jobs per ha, SDG 11.3.1) and neighbour comparison."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from ocsol.compare import neighbours
from ocsol.demography import EFFICIENCY_COLUMNS, efficiency
from ocsol.errors import ConfigError, SchemaError, TerritoryNotFoundError
from ocsol.territories import Territories, aggregate

LYON = Path(__file__).resolve().parents[1] / "data" / "lyon"


def territories() -> Territories:
    comm = pd.DataFrame({"code": ["G", "S"], "name": ["grows", "shrinks"], "area_m2": [1e6, 1e6]})
    memb = pd.DataFrame({"code": ["G", "S"], "epci": ["E", "E"]})
    return Territories(communes=comm, membership=memb, levels=("epci",))


def conso(t: Territories) -> pd.DataFrame:
    base = pd.DataFrame([(c, y, 1.0) for c in ("G", "S") for y in range(2011, 2023)],
                        columns=["code", "year", "total_ha"])
    return aggregate(base, t, values=["total_ha"], by=["year"])


def population() -> pd.DataFrame:
    # G: 1000 → 1200 over 2011→2021; S: 1000 → 900
    rows = [("G", 2011, 1000.0), ("G", 2021, 1200.0), ("G", 2023, 1210.0),
            ("S", 2011, 1000.0), ("S", 2021, 900.0), ("S", 2023, 890.0)]
    return pd.DataFrame(rows, columns=["code", "year", "population"])


def row(e: pd.DataFrame, level: str, code: str, start: int) -> pd.Series:
    return e[(e["level"] == level) & (e["code"] == code) & (e["period_start"] == start)].iloc[0]


def test_m2_per_new_inhabitant_and_shrinking_population():
    t = territories()
    pop = population()
    before = pop.copy()
    e = efficiency(conso(t), pop, t, periods=[[2011, 2020]])
    pd.testing.assert_frame_equal(pop, before)
    assert list(e.columns) == EFFICIENCY_COLUMNS
    g = row(e, "commune", "G", 2011)
    assert g["consumption_ha"] == 10.0 and g["population_end"] == 1200.0
    assert g["m2_per_new_inhabitant"] == pytest.approx(100_000 / 200)  # 10 ha / 200 new inhabitants
    assert g["pgr"] == pytest.approx(math.log(1.2) / 10)
    s = row(e, "commune", "S", 2011)
    assert np.isnan(s["m2_per_new_inhabitant"]) and np.isnan(s["lcrpgr"])
    assert s["pgr"] < 0 and "population fell by 100" in s["note"]
    epci = row(e, "epci", "E", 2011)  # 2000 → 2100: 20 ha / 100 inhabitants
    assert epci["m2_per_new_inhabitant"] == pytest.approx(2000.0)


def test_default_periods_are_clipped_to_the_data():
    t = territories()
    e = efficiency(conso(t), population(), t)
    assert sorted(set(zip(e["period_start"], e["period_end"], strict=True))) == [(2011, 2020), (2021, 2022)]
    g = row(e, "commune", "G", 2021)
    assert "period clipped to 2021–2022" in g["note"]
    assert g["m2_per_new_inhabitant"] == pytest.approx(20_000 / 10)


def test_sdg_from_ocsge_stock_ln_and_linear():
    t = territories()
    stock = pd.DataFrame({"level": "commune", "code": "G", "vintage": [2011, 2021], "artif_ha": [100.0, 110.0]})
    e = efficiency(conso(t), population(), t, periods=[[2011, 2020]], stock_summary=stock)
    g = row(e, "commune", "G", 2011)
    assert g["lcr"] == pytest.approx(math.log(1.1) / 10)
    assert g["lcrpgr"] == pytest.approx(math.log(1.1) / math.log(1.2))
    assert "no OCS GE artificialised stock" in row(e, "commune", "S", 2011)["note"]
    lin = efficiency(conso(t), population(), t, periods=[[2011, 2020]], stock_summary=stock,
                     sdg_variant="linear")
    g = row(lin, "commune", "G", 2011)
    assert g["lcr"] == pytest.approx(0.01) and g["pgr"] == pytest.approx(0.02) and g["lcrpgr"] == pytest.approx(0.5)


def test_population_unchanged_and_households_jobs():
    t = territories()
    pop = pd.DataFrame({"code": ["G", "G", "S", "S"], "year": [2011, 2021] * 2, "population": [5.0, 5.0, 8.0, 9.0]})
    men = pd.DataFrame({"code": ["G", "G"], "year": [2011, 2021], "households": [10.0, 30.0]})
    emp = pd.DataFrame({"code": ["G", "G"], "year": [2011, 2021], "jobs": [0.0, 20.0]})
    e = efficiency(conso(t), pop, t, periods=[[2011, 2020]], households=men, jobs=emp)
    g = row(e, "commune", "G", 2011)
    assert "PGR = 0" in g["note"] and np.isnan(g["lcrpgr"])
    assert g["households_jobs_per_ha"] == pytest.approx(40 / 10)
    assert np.isnan(row(e, "epci", "E", 2011)["households_jobs_per_ha"])  # S has no households data


def test_parent_population_incomplete_is_nan():
    t = territories()
    pop = population()
    pop = pop[~((pop["code"] == "S") & (pop["year"] == 2021))]
    e = efficiency(conso(t), pop, t, periods=[[2011, 2020]])
    epci = row(e, "epci", "E", 2011)
    assert np.isnan(epci["population_end"]) and "no population at 2011 or 2021" in epci["note"]


def test_config_errors():
    t = territories()
    with pytest.raises(ConfigError, match="sdg_variant = 'log'"):
        efficiency(conso(t), population(), t, sdg_variant="log")
    with pytest.raises(ConfigError, match=r"\[2020, 2011\] ends before it starts"):
        efficiency(conso(t), population(), t, periods=[[2020, 2011]])


# --- comparison ---------------------------------------------------------------------------------

def grid() -> Territories:
    codes = [str(i) for i in range(6)]
    g = gpd.GeoDataFrame({"code": codes, "name": [f"c{i}" for i in codes], "area_m2": 1e6},
                         geometry=[box(i * 1000, 0, i * 1000 + 1000, 1000) for i in range(6)], crs=2154)
    memb = pd.DataFrame({"code": codes, "epci": ["A", "A", "B", "B", "C", "C"]})
    names = pd.concat([pd.DataFrame({"level": "commune", "code": codes, "name": g["name"]}),
                       pd.DataFrame({"level": "epci", "code": ["A", "B", "C"], "name": ["A", "B", "C"]})])
    return Territories(communes=g, membership=memb, levels=("epci",), names=names)


def test_neighbours_by_centroid_and_median():
    t = grid()
    table = pd.DataFrame({"level": "commune", "code": [str(i) for i in range(6)], "v": [0, 10, 20, 30, 40, 50.0]})
    out = neighbours(t, "commune", "2", table=table, value="v", n=2)
    assert out["role"].tolist() == ["territory", "neighbour", "neighbour", "median"]
    assert out["code"].tolist()[1:3] == ["1", "3"] and out["distance_km"].tolist()[1:3] == [1.0, 1.0]
    assert np.isnan(out["value"].iloc[-1])  # a median of two values is not shown (fewer than 3)
    out = neighbours(t, "commune", "2", table=table, value="v", n=2, min_median=2)
    assert out["value"].iloc[-1] == 20.0
    ep = pd.DataFrame({"level": "epci", "code": ["A", "B", "C"], "v": [1.0, 2.0, 3.0]})
    out = neighbours(t, "epci", "A", table=ep, value="v", n=8)
    assert out["code"].tolist()[1:3] == ["B", "C"] and out["distance_km"].iloc[1] == pytest.approx(2.0)
    out = neighbours(t, "commune", "0", table=table, value="v", with_codes=["5"])
    assert out["value"].tolist()[:2] == [0.0, 50.0] and np.isnan(out["value"].iloc[-1])
    out = neighbours(t, "commune", "2", table=table, value="v", n=8, within=["0", "4", "5"])
    assert out["code"].tolist()[1:4] == ["0", "4", "5"] and out["value"].iloc[-1] == 40.0  # median of 0, 40, 50


def test_neighbours_errors():
    t = grid()
    table = pd.DataFrame({"level": "commune", "code": ["0"], "v": [1.0]})
    with pytest.raises(TerritoryNotFoundError, match="'9' not found"):
        neighbours(t, "commune", "9", table=table, value="v")
    with pytest.raises(TerritoryNotFoundError, match=r"\[compare\].with: 8 not found"):
        neighbours(t, "commune", "0", table=table, value="v", with_codes=["8"])
    with pytest.raises(SchemaError, match="no column 'w'"):
        neighbours(t, "commune", "0", table=table, value="w")
    flat = Territories(communes=pd.DataFrame(t.communes.drop(columns="geometry")), membership=t.membership,
                       levels=t.levels, names=t.names)
    with pytest.raises(SchemaError, match="no geometry"):
        neighbours(flat, "commune", "0", table=table, value="v")
