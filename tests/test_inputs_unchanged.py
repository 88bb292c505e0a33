"""Public functions never change their inputs (issue 9, item 14).

Each public function of the computing modules is called on random inputs (hypothesis) through
:func:`unchanged`, which keeps a deep copy of every frame it is given (including the frames inside
a :class:`~ocsol.territories.Territories`) and checks, after the call, that values, dtypes, column
order, index and ``attrs`` are all as before. The call must also return a new object, never the
input itself.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocsol import (
    change,
    cog,
    compare,
    consumption,
    demography,
    indicators,
    nomenclature,
    territories,
    zan,
    zan_rules,
)
from ocsol.io.cerema import VALUE_COLUMNS

from .test_properties import RULE, _classes, worlds

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _frames(value, path="arg"):
    """Every DataFrame reachable from an argument: (path, frame)."""
    if isinstance(value, pd.DataFrame):
        yield path, value
    elif isinstance(value, territories.Territories):
        for f in dataclasses.fields(value):
            yield from _frames(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, change.Zones):
        for f in dataclasses.fields(value):
            yield from _frames(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _frames(v, f"{path}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _frames(v, f"{path}[{i}]")


def unchanged(fn, *args, **kwargs):
    """Call ``fn`` and assert that none of the frames it was given changed."""
    before = []
    for i, a in enumerate([*args, *kwargs.values()]):
        for path, frame in _frames(a, f"{fn.__name__} arg {i}"):
            before.append((path, frame, frame.copy(deep=True), copy.deepcopy(frame.attrs)))
    result = fn(*args, **kwargs)
    for path, frame, copy_, attrs in before:
        assert list(frame.columns) == list(copy_.columns), f"{path}: columns changed"
        pd.testing.assert_frame_equal(frame, copy_, check_exact=True, obj=path)
        assert frame.attrs == attrs, f"{path}: attrs changed"
        assert result is not frame, f"{path}: returned the input itself"
    return result


@st.composite
def consumption_tables(draw, codes: list[str]):
    years = list(range(2011, 2011 + draw(st.integers(10, 13))))
    rows = []
    for code in codes:
        for y in years:
            parts = draw(st.lists(st.integers(0, 5000), min_size=6, max_size=6))
            rows.append([code, y, float(sum(parts)), *map(float, parts)])
    conso = pd.DataFrame(rows, columns=["code", "year", *VALUE_COLUMNS])
    conso.attrs = {"years": years, "multi_year": [], "source": "random"}
    return conso


@pytest.mark.slow
@SETTINGS
@given(worlds(), st.data())
def test_artificialisation_functions_leave_inputs_unchanged(world, data):
    terr, v1, v2, perm = world
    v2 = v2.iloc[perm].reset_index(drop=True)
    zones = change.Zones.from_communes(terr.communes)
    classes = unchanged(_classes, v1, v2)
    st1 = unchanged(change.stock_pieces, v1, terr.communes, vintage=2019)
    res = unchanged(change.compare_vintages, v1, v2, zones, vintage_from=2019, vintage_to=2022)
    stock_p = pd.concat([res.stock_from, res.stock_to], ignore_index=True)
    trans_p = res.transitions
    assert len(st1)
    unchanged(nomenclature.classify, pd.concat([v1[["cs", "us"]], v2[["cs", "us"]]]), RULE)
    flagged = unchanged(indicators.flag, trans_p.rename(columns={"cs_from": "cs", "us_from": "us"}), classes)
    assert "artif" in flagged
    pre = indicators.flag(indicators.flag(trans_p, classes, suffix="_from"), classes, suffix="_to")
    unchanged(indicators.flows, pre, classes, terr)  # already flagged pieces (the case of item 14)
    unchanged(indicators.flows, trans_p, classes, terr)
    unchanged(indicators.stock, stock_p, classes, terr)
    unchanged(indicators.stock_summary, stock_p, classes, terr)
    tr = unchanged(indicators.transitions, trans_p, terr)
    unchanged(indicators.land_account, tr, stocks_known={(2019, 2022)})
    unchanged(indicators.check_invariants, stock_p, trans_p, terr, full_pairs=[(2019, 2022)])
    tables = unchanged(indicators.build_tables, stock_p, trans_p, classes, terr, full_pairs=[(2019, 2022)])
    unchanged(indicators.check_coverage, tables.stock_summary, min_coverage=0.5)
    unchanged(territories.aggregate, stock_p, terr, values=["area_m2"], by=["vintage"])
    unchanged(terr.units)
    ext = pd.DataFrame({"code": terr.communes["code"], "vintage_from": 2019, "vintage_to": 2022})
    unchanged(indicators.flows, pre, classes, terr, extent=ext)
    diff = v1.rename(columns={"cs": "cs_from", "us": "us_from"}).assign(cs_to=v2["cs"].iloc[0], us_to=v2["us"].iloc[0])
    unchanged(change.diff_pieces, diff, terr.communes, vintage_from=2019, vintage_to=2022)
    unchanged(compare.centroids, terr)
    table = tables.stock_summary[tables.stock_summary["vintage"] == 2019]
    unchanged(compare.neighbours, terr, "commune", terr.communes["code"].iloc[0], table=table, value="artif_ha", n=2)


@pytest.mark.slow
@SETTINGS
@given(worlds(), st.data())
def test_consumption_functions_leave_inputs_unchanged(world, data):
    terr = world[0]
    codes = terr.communes["code"].tolist()
    conso = data.draw(consumption_tables(codes))
    unchanged(consumption.consumption_qa, conso, territories=terr)
    by_year = unchanged(consumption.consumption_by_year, conso, terr)
    unchanged(consumption.period_total, by_year, 2011, 2020)
    unchanged(consumption.with_area_pct, by_year, terr)
    guarantees = unchanged(zan_rules.commune_guarantees, terr, base_ha=1.0)
    z = unchanged(zan.zan_trajectory, by_year, terr, guarantees=guarantees)
    unchanged(zan.zan_path, z)
    pop = pd.DataFrame([[c, y, float(data.draw(st.integers(10, 10_000)))] for c in codes
                        for y in (2011, 2015, 2021)], columns=["code", "year", "population"])
    unchanged(demography.efficiency, by_year, pop, terr, periods=[[2011, 2020]])
    mapping = pd.DataFrame({"old_code": codes, "new_code": [codes[0]] * len(codes), "weight": 1.0})
    unchanged(cog.reconcile, conso, mapping, values=VALUE_COLUMNS, by=["year"])
    rec = unchanged(cog.build_reconciliation, codes, codes,
                    areas=terr.communes.set_index("code")["area_m2"])
    assert rec is not None
    changes = pd.DataFrame({"mod": "32", "date_eff": "2024-01-01", "typecom_av": "COM", "com_av": codes,
                            "typecom_ap": "COM", "com_ap": codes[0]})
    unchanged(cog.links_from_changes, changes, since="2019-01-01")
    status = pd.DataFrame({"code": codes, "correction_status": "merged"})
    unchanged(cog.parent_status, status, terr.membership, terr.levels)


def test_flows_used_to_add_columns_to_the_callers_frame():
    """The regression of item 14, spelled out: flagged pieces keep exactly their columns."""
    comm = pd.DataFrame({"code": ["1"], "area_m2": [100.0]})
    terr = territories.Territories(communes=comm, membership=pd.DataFrame({"code": ["1"]}))
    pieces = pd.DataFrame({"code": ["1"], "vintage_from": [2019], "vintage_to": [2022], "cs_from": ["a"],
                           "us_from": [""], "cs_to": ["b"], "us_to": [""], "area_m2": [100.0],
                           "artif_from": [False], "imper_from": [False], "artif_to": [True], "imper_to": [False]})
    cols = list(pieces.columns)
    out = indicators.flows(pieces, pd.DataFrame(columns=["cs", "us", "artif", "imper"]), terr)
    assert list(pieces.columns) == cols
    assert out["artif_ha"].tolist() == [0.01]
    assert np.isclose(out["net_artif_ha"].iloc[0], 0.01)
