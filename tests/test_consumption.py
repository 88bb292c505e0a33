"""Cerema reader, QA identities, yearly consumption at every level (hand-computed + Lyon)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ocsol.config import load_config
from ocsol.consumption import (
    CONSUMPTION_COLUMNS,
    consumption_by_year,
    consumption_qa,
    period_total,
    with_area_pct,
)
from ocsol.errors import InvariantError, SchemaError
from ocsol.io.cerema import read_cerema, read_population
from ocsol.io.territories import read_territories
from ocsol.steps import cerema, population
from ocsol.territories import Territories

ROOT = Path(__file__).resolve().parents[1]
LYON = ROOT / "data" / "lyon"
DESTS = ["hab", "act", "mix", "rou", "fer", "inc"]


def cerema_frame(years=(2019, 2020, 2021), codes=("01001", "01002")) -> pd.DataFrame:
    """Commune i, year y: hab = 100·(i+1), act = 10·(y−2018), others 0; total = sum."""
    data: dict[str, list] = {"idcom": list(codes), "idcomtxt": [f"c{i}" for i in range(len(codes))]}
    for y in years:
        a, b = f"{y % 100:02d}", f"{(y + 1) % 100:02d}"
        hab = [100.0 * (i + 1) for i in range(len(codes))]
        act = [10.0 * (y - 2018)] * len(codes)
        data[f"naf{a}art{b}"] = [h + c for h, c in zip(hab, act, strict=True)]
        for d in DESTS:
            data[f"art{a}{d}{b}"] = hab if d == "hab" else act if d == "act" else [0.0] * len(codes)
    return pd.DataFrame(data)


def write(df: pd.DataFrame, tmp_path: Path, name: str = "conso.csv") -> Path:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def tiny_territories() -> Territories:
    comm = pd.DataFrame({"code": ["01001", "01002"], "name": ["a", "b"], "area_m2": [1e6, 3e6]})
    memb = pd.DataFrame({"code": ["01001", "01002"], "epci": ["E", "E"]})
    names = pd.DataFrame({"level": ["commune", "commune", "epci"], "code": ["01001", "01002", "E"],
                          "name": ["a", "b", "E"]})
    return Territories(communes=comm, membership=memb, levels=("epci",), names=names)


# --- reader -----------------------------------------------------------------------------------

def test_read_cerema_long_table_and_year_convention(tmp_path):
    df = cerema_frame()
    df["idcom"] = ["1001", "1002"]  # leading zero lost by a spreadsheet
    df["naf19art21"] = df["naf19art20"] + df["naf20art21"]
    before = df.copy()
    conso = read_cerema(write(df, tmp_path))
    pd.testing.assert_frame_equal(df, before)
    assert list(conso.columns) == ["code", "year", "total_m2", "habitat_m2", "activite_m2", "mixte_m2",
                                   "route_m2", "ferroviaire_m2", "inconnu_m2"]
    assert conso.attrs["years"] == [2019, 2020, 2021]  # naf19art20 is year 2019
    row = conso[(conso["code"] == "01002") & (conso["year"] == 2020)].iloc[0]
    assert row["total_m2"] == 220.0 and row["habitat_m2"] == 200.0 and row["activite_m2"] == 20.0
    multi = conso.attrs["multi_year"]
    assert {(m["code"], m["start"], m["end"]) for m in multi} == {("01001", 2019, 2020), ("01002", 2019, 2020)}


def test_read_cerema_semicolon_xlsx(tmp_path):
    df = cerema_frame()
    p = tmp_path / "conso.xlsx"
    df.to_excel(p, index=False)
    assert read_cerema(p)["year"].nunique() == 3
    p2 = tmp_path / "conso_semicolon.csv"
    df.to_csv(p2, index=False, sep=";")
    assert len(read_cerema(p2)) == 6


def test_inc_rounding_residue_is_accepted(tmp_path):
    df = cerema_frame()
    df.loc[0, "art20inc21"] = -2.0
    df.loc[0, "art20hab21"] += 2.0
    conso = read_cerema(write(df, tmp_path))
    assert conso["inconnu_m2"].min() == -2.0


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.__setitem__("art20hab21", ["abc", 100.0]), r"'art20hab21'.*non-numeric.*01001"),
        (lambda d: d.__setitem__("naf19art20", [110.0, -5.0]), r"'naf19art20'.*negative.*01002"),
        (lambda d: d.__setitem__("art19inc20", [0.0, -3.0]), r"'art19inc20'.*negative.*01002"),
        (lambda d: d.__setitem__("art19mix20", [0.0, None]), r"'art19mix20'.*empty cell.*01002"),
        (lambda d: d.__delitem__("art20fer21"), r"missing destination column.*art20fer21"),
        (lambda d: d.__delitem__("naf20art21"), r"missing annual column.*naf20art21"),
        (lambda d: d.__setitem__("idcom", ["01001", "01001"]), r"duplicate commune code.*01001"),
        (lambda d: d.__setitem__("idcom", ["01001", None]), r"empty commune code on line"),
    ],
)
def test_bad_cells_are_named(tmp_path, edit, match):
    df = cerema_frame()
    edit(df)
    with pytest.raises(SchemaError, match=match):
        read_cerema(write(df, tmp_path))


def test_no_annual_columns_and_wrong_code_column(tmp_path):
    with pytest.raises(SchemaError, match="no annual consumption column"):
        read_cerema(write(pd.DataFrame({"idcom": ["01001"], "x": [1]}), tmp_path))
    with pytest.raises(SchemaError, match="no column 'codgeo'.*consumption.code"):
        read_cerema(write(cerema_frame(), tmp_path), code="codgeo")


# --- QA -----------------------------------------------------------------------------------------

def test_qa_ok_warning_and_provisional(tmp_path):
    df = cerema_frame()
    df["naf19art21"] = df["naf19art20"] + df["naf20art21"]
    qa = consumption_qa(read_cerema(write(df, tmp_path)), territories=tiny_territories())
    assert set(qa.loc[qa["code"] == "", "status"]) <= {"ok", "info"}
    assert qa.loc[qa["check"] == "provisional", "year_start"].iloc[0] == 2021

    df.loc[1, "art20hab21"] += 5.0  # 5 m² off: warning, not an error
    df.loc[0, "naf19art21"] += 1.0  # within 2 m²
    qa = consumption_qa(read_cerema(write(df, tmp_path)))
    warn = qa[(qa["status"] == "warning") & (qa["code"] != "")]
    assert warn[["check", "code", "year_start", "difference_m2"]].values.tolist() == [
        ["destinations_sum", "01002", 2020, 5.0]]


def test_qa_gross_errors_raise(tmp_path):
    df = cerema_frame()
    df["naf19art21"] = df["naf19art20"] + df["naf20art21"] + 50_000.0
    with pytest.raises(InvariantError, match="multi_year_total 01001 2019–2020"):
        consumption_qa(read_cerema(write(df, tmp_path)))
    df = cerema_frame()
    df.loc[0, "art21hab22"] += 100_000.0
    with pytest.raises(InvariantError, match="destinations_sum 01001 2021"):
        consumption_qa(read_cerema(write(df, tmp_path)))


def test_qa_reports_missing_communes(tmp_path):
    conso = read_cerema(write(cerema_frame(codes=("01001", "09999")), tmp_path))
    qa = consumption_qa(conso, territories=tiny_territories())
    assert qa.loc[qa["check"] == "missing_commune", "code"].tolist() == ["01002"]
    assert "1 commune(s) of the file outside" in qa.loc[qa["check"] == "communes", "note"].iloc[0]


# --- by year, levels, % of area -----------------------------------------------------------------

def test_consumption_by_year_hand_computed(tmp_path):
    conso = read_cerema(write(cerema_frame(), tmp_path))
    t = tiny_territories()
    out = consumption_by_year(conso, t)
    assert list(out.columns) == CONSUMPTION_COLUMNS
    epci = out[out["level"] == "epci"].set_index("year")
    # 2019: (100+10) + (200+10) = 320 m² = 0.032 ha
    assert epci.loc[2019, "total_ha"] == pytest.approx(0.032)
    assert epci.loc[2021, "activite_ha"] == pytest.approx(0.006)
    assert epci["provisional"].tolist() == [False, False, True]
    pct = with_area_pct(epci.reset_index(), t, columns=["total_ha"])
    assert pct["total_pct"].iloc[0] == pytest.approx(0.032 / 400 * 100)
    tot = period_total(out, 2019, 2020)
    assert tot.set_index(["level", "code"]).loc[("epci", "E"), "consumption_ha"] == pytest.approx(0.066)  # 320 + 340 m²


# --- Lyon real data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lyon():
    t = read_territories(LYON / "communes_metropole_lyon.csv", area="surface_ha",
                         levels={"epci": "epci_siren", "dep": "dep"}, level_names={"epci": "epci_nom"})
    conso = read_cerema(LYON / "conso_communes_cerema_format.csv")
    return t, conso, consumption_by_year(conso, t)


def test_lyon_communes_sum_to_metropole_every_year(lyon):
    t, conso, out = lyon
    assert conso["code"].nunique() == 58
    assert sorted(out["year"].unique()) == list(range(2009, 2024))
    communes = out[out["level"] == "commune"].groupby("year")[["total_ha", "habitat_ha", "route_ha"]].sum()
    epci = out[(out["level"] == "epci") & (out["code"] == "200046977")].set_index("year")
    assert len(epci) == 15
    pd.testing.assert_frame_equal(communes, epci[["total_ha", "habitat_ha", "route_ha"]],
                                  check_exact=False, rtol=1e-12)
    assert epci.loc[2011:2020, "total_ha"].sum() == pytest.approx(827.7454)
    assert epci["provisional"].sum() == 1 and bool(epci.loc[2023, "provisional"])


def test_lyon_qa_identities_hold(lyon):
    t, conso, _ = lyon
    qa = consumption_qa(conso, territories=t)
    assert (qa.loc[qa["check"] == "destinations_sum", "status"] == "ok").all()
    assert "58 of 58 communes" in qa.loc[qa["check"] == "communes", "note"].iloc[0]


@pytest.mark.slow
def test_lyon_config_entry_point():
    config = load_config(LYON / "ocsol.toml")
    s = config.territories
    t = read_territories(config.resolve(s.path), code=s.code, name=s.name, area=s.area,
                         levels=s.levels, level_names=s.names)
    tables = cerema.consumption_tables(config, t, population=population.population_tables(config)).tables
    assert set(tables) == {"consumption", "consumption_qa", "zan", "zan_path", "zan_coherence", "efficiency"}
    zan = tables["zan"].set_index(["level", "code"])
    assert zan.loc[("epci", "200046977"), "allowed_ha"] == pytest.approx(413.8727)
    assert (tables["zan"]["level"] == "commune").sum() == 58


def test_consumption_tables_from_tables_alone(lyon):
    """Item 3: the consumption/ZAN/efficiency tables are a function of tables and plain options
    (no configuration, no file read): fed the Lyon tables, they equal what the Cerema step gives."""
    from ocsol.consumption_tables import compute_consumption_tables

    t, conso, _ = lyon
    config = load_config(LYON / "ocsol.toml")
    step = cerema.consumption_tables(config, t, population=population.population_tables(config)).tables
    pop = read_population(LYON / "population_communes_2009_2023.csv")
    tables = compute_consumption_tables(conso, t, zan={"reference": (2011, 2020), "period": (2021, 2030)},
                                        population={"population": pop})
    assert set(tables) == set(step)
    for name in ("consumption", "zan", "efficiency"):
        pd.testing.assert_frame_equal(tables[name], step[name], check_like=True)
    assert tables["zan"].query("level == 'epci'")["allowed_ha"].iloc[0] == pytest.approx(413.8727)
    assert "efficiency" not in compute_consumption_tables(conso, t, zan={"reference": (2011, 2020),
                                                                          "period": (2021, 2030)})


def test_read_population_wide_and_long(tmp_path):
    wide = read_population(LYON / "population_communes_2009_2023.csv")
    assert len(wide) == 58 * 15 and wide["code"].str.len().eq(5).all()
    p = tmp_path / "pop_long.csv"
    pd.DataFrame({"code": ["1001", "1001"], "year": [2020, 2021], "population": [10, 12]}).to_csv(p, index=False)
    long = read_population(p, code="code")
    assert long.values.tolist() == [["01001", 2020, 10.0], ["01001", 2021, 12.0]]
    p2 = tmp_path / "men.csv"
    pd.DataFrame({"insee_com": ["01001"], "men2014": [5], "men2020": [7]}).to_csv(p2, index=False)
    assert read_population(p2, what="households")["households"].tolist() == [5.0, 7.0]


def test_read_population_errors(tmp_path):
    p = tmp_path / "pop.csv"
    pd.DataFrame({"insee_com": ["01001", "01002"], "pmun2020": ["10", "x"]}).to_csv(p, index=False)
    with pytest.raises(SchemaError, match=r"'pmun2020'.*non-numeric.*01002"):
        read_population(p)
    pd.DataFrame({"insee_com": ["01001"], "nothing": [1]}).to_csv(p, index=False)
    with pytest.raises(SchemaError, match="no population columns"):
        read_population(p)
