"""The bundled combined sample (the default configuration): every path at once, consistently."""

from __future__ import annotations

import pytest

from ocsol.pipeline import compute
from ocsol.sample import sample_config

pytestmark = pytest.mark.slow  # the Lyon sample through the whole pipeline


@pytest.fixture(scope="module")
def sample():
    return compute(sample_config("sample"))


def test_one_flow_row_per_territory_and_pair(sample):
    fl = sample["flows"]
    assert not fl.duplicated(["level", "code", "vintage_from", "vintage_to"]).any()
    pairs = set(map(tuple, fl[fl["code"] == "200030385"][["vintage_from", "vintage_to"]].to_numpy().tolist()))
    assert pairs == {(2019, 2022)}  # Blois has full vintages, not the Arcachon change layer
    assert set(fl[fl["level"] == "scot"]["code"]) == {"SCOT du Bassin d'Arcachon et Val de Leyre"}


def test_lyon_zan_figures(sample):
    z = sample["zan"].set_index(["level", "code"]).loc[("epci", "200046977")]
    assert z["reference_ha"] == pytest.approx(827.7454)
    assert z["allowed_ha"] == pytest.approx(413.8727)
    assert (z["reference_start"], z["reference_end"], z["period_start"], z["period_end"]) == (2011, 2020, 2021, 2030)


def test_sdg_from_ocsge_stock_and_population(sample):
    e = sample["efficiency"]
    row = e[(e["code"] == "200030385") & (e["period_start"] == 2019)].iloc[0]
    ss = sample["stock_summary"].set_index(["level", "code", "vintage"])
    u0, u1 = ss.loc[("epci", "200030385", 2019), "artif_ha"], ss.loc[("epci", "200030385", 2022), "artif_ha"]
    import math

    assert row["lcr"] == pytest.approx(math.log(u1 / u0) / 3)
    assert row["lcrpgr"] == pytest.approx(row["lcr"] / row["pgr"])


def test_communes_outside_layers_have_no_stock_rows(sample):
    ss = sample["stock_summary"]
    assert not ss["code"].str.startswith("69").any()
    assert sample["qa"]["item"].str.contains("outside every OCS GE vintage").any()
