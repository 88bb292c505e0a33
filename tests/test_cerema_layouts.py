"""Every Cerema millésime and format, with no column mapping: CSV `,`/`;`, XLSX, the national
shapefile / GeoPackage (attribute table), upper-case names, old millésimes without the road/rail
destinations, old (`nafart0924`, `arthab0924`) and new (`naf09art24`, `art09hab24`) total names
and `artcom0924` — the Lyon figures come out the same from each."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import ocsol
from ocsol.cli import main
from ocsol.errors import InvariantError
from ocsol.io.cerema import read_cerema

ROOT = Path(__file__).resolve().parents[1]
LYON = ROOT / "data" / "lyon"
REFERENCE_HA, ALLOWED_HA = 827.7454, 413.8727


def _raw() -> pd.DataFrame:
    return pd.read_csv(LYON / "conso_communes_cerema_format.csv", dtype={"idcom": str})


def _annual(df: pd.DataFrame, kind: str) -> list[str]:
    pat = re.compile(r"^naf(\d\d)art(\d\d)$" if kind == "naf" else rf"^art(\d\d){kind}(\d\d)$")
    return [c for c in df.columns if (m := pat.match(c)) and int(m.group(2)) == int(m.group(1)) + 1]


def _with_totals(df: pd.DataFrame, *, old_names: bool) -> pd.DataFrame:
    df = df.copy()
    surface = pd.read_csv(LYON / "communes_metropole_lyon.csv", dtype={"insee_com": str}).set_index("insee_com")
    total = df[_annual(df, "naf")].sum(axis=1)
    df["nafart0924" if old_names else "naf09art24"] = total
    for d in ("hab", "act", "mix", "inc"):
        df[f"art{d}0924" if old_names else f"art09{d}24"] = df[_annual(df, d)].sum(axis=1)
    df["artcom0924"] = (total / 1e4 / df["idcom"].map(surface["surface_ha"]) * 100).round(4)
    return df


def _old_millesime(df: pd.DataFrame) -> pd.DataFrame:
    """Before the road/rail split: those flows sit in the other destinations (here: inconnue)."""
    df = df.copy()
    for rou in _annual(df, "rou"):
        y = rou[3:5], rou[-2:]
        df[f"art{y[0]}inc{y[1]}"] += df[rou] + df[f"art{y[0]}fer{y[1]}"]
        df = df.drop(columns=[rou, f"art{y[0]}fer{y[1]}"])
    return df


def _geo(df: pd.DataFrame) -> gpd.GeoDataFrame:
    geoms = [shapely.box(i * 10, 0, i * 10 + 10, 10) for i in range(len(df))]
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:2154")


def _write(layout: str, folder: Path) -> str:
    df = _raw()
    if layout == "csv_comma_new_totals":
        _with_totals(df, old_names=False).to_csv(folder / "conso.csv", index=False)
        return "conso.csv"
    if layout == "csv_semicolon_upper":
        df.rename(columns=str.upper).to_csv(folder / "conso.csv", index=False, sep=";")
        return "conso.csv"
    if layout == "xlsx":
        _with_totals(df, old_names=False).to_excel(folder / "conso.xlsx", index=False, sheet_name="COMMUNES")
        return "conso.xlsx"
    if layout == "shp_national_upper":  # DBF: 10-character upper-case names, numbers as numbers
        num = pd.concat([df[["idcom"]], df.drop(columns=["idcom", "name"]).astype("int64")], axis=1)
        _geo(num.rename(columns=str.upper)).to_file(folder / "obs_artif_conso_com_2009_2024.shp")
        return "obs_artif_conso_com_2009_2024.shp"
    if layout == "gpkg_two_layers":
        g = _geo(_with_totals(df, old_names=False))
        g[["idcom", "geometry"]].to_file(folder / "conso.gpkg", layer="communes_contours", driver="GPKG")
        g.to_file(folder / "conso.gpkg", layer="obs_artif_conso_com_2009_2024", driver="GPKG")
        return "conso.gpkg"
    if layout == "old_millesime_no_rou_fer":
        _with_totals(_old_millesime(df), old_names=True).to_csv(folder / "conso.csv", index=False, sep=";")
        return "conso.csv"
    raise AssertionError(layout)


LAYOUTS = ["csv_comma_new_totals", "csv_semicolon_upper", "xlsx", "shp_national_upper", "gpkg_two_layers",
           "old_millesime_no_rou_fer"]


def _config(folder: Path, conso: str) -> Path:
    toml = (LYON / "ocsol.toml").read_text(encoding="utf-8")
    toml = toml.replace('path = "communes_metropole_lyon.csv"', f'path = "{(LYON / "communes_metropole_lyon.csv").as_posix()}"')
    toml = toml.replace('path = "conso_communes_cerema_format.csv"', f'path = "{conso}"')
    toml = re.sub(r"\[population\].*?(?=\n\[)", "", toml, flags=re.S)  # consumption only
    (folder / "ocsol.toml").write_text(toml, encoding="utf-8")
    return folder / "ocsol.toml"


def test_reference_computed_here_matches_the_documented_figure() -> None:
    df = _raw()
    ref = df[[f"naf{y:02d}art{y + 1:02d}" for y in range(11, 21)]].to_numpy().sum() / 1e4
    assert round(ref, 4) == REFERENCE_HA and round(ref / 2, 4) == ALLOWED_HA


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_lyon_figures_identical_from_every_layout(layout: str, tmp_path: Path) -> None:
    cfg = _config(tmp_path, _write(layout, tmp_path))
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(cfg), "-o", str(out), "-q"]) == 0
    zan = pd.read_csv(out / "zan.csv", dtype={"code": str}).set_index(["level", "code"])
    assert round(zan.loc[("epci", "200046977"), "reference_ha"], 4) == REFERENCE_HA
    assert round(zan.loc[("epci", "200046977"), "allowed_ha"], 4) == ALLOWED_HA
    qa = pd.read_csv(out / "consumption_qa.csv", dtype={"code": str})  # the per-commune QA table
    summary = qa[qa["check"] == "destinations_sum"].iloc[0]
    assert summary["status"] == "ok"
    if "totals" in layout or layout in ("xlsx", "gpkg_two_layers", "old_millesime_no_rou_fer"):
        multi = qa[qa["check"] == "multi_year_total"].iloc[0]
        assert multi["status"] == "ok" and "58 checked" not in multi["note"]  # total and destinations
        assert f"{58 * 5} checked" in multi["note"]
        assert qa["note"].str.contains("artcom0924: share of the commune area").any()
    if layout == "old_millesime_no_rou_fer":
        notes = qa[qa["check"] == "destination_absent"]["note"].tolist()
        assert len(notes) == 2 and "route flows set to 0" in notes[0] and "ferroviaire" in notes[1]
        cons = pd.read_csv(out / "consumption.csv", dtype={"code": str})
        assert (cons[["route_ha", "ferroviaire_ha"]] == 0).all().all()
        assert "destination_absent" in pd.read_csv(out / "qa.csv")["item"].tolist()


@pytest.mark.slow
def test_old_total_checked_against_its_years(tmp_path: Path) -> None:
    df = _with_totals(_old_millesime(_raw()), old_names=True)
    df.loc[0, "nafart0924"] *= 3  # a total from another file
    df.to_csv(tmp_path / "conso.csv", index=False, sep=";")
    with pytest.raises(InvariantError, match=r"multi_year_total 69\d{3} 2009–2023"):
        ocsol.compute(_config(tmp_path, "conso.csv"))


def test_partial_destination_family_is_still_an_error(tmp_path: Path) -> None:
    df = _raw().drop(columns=["art15rou16"])
    df.to_csv(tmp_path / "conso.csv", index=False)
    from ocsol.errors import SchemaError

    with pytest.raises(SchemaError, match=r"missing destination column\(s\) art15rou16"):
        read_cerema(tmp_path / "conso.csv")
