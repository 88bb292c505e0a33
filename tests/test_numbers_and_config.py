"""The one number parser, code normalisation, whole-file encodings, typed configuration (issue 9)."""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ocsol.config import (
    SECTIONS,
    _infer,
    check_value,
    config_from_dict,
    reference_markdown,
    spec_of,
)
from ocsol.errors import ConfigError, CoverageError, SchemaError
from ocsol.io.common import as_code, decode_text, parse_number_columns, parse_numbers, read_table
from ocsol.io.territories import check_partition


def _fmt(value: float, *, thousands: str, decimal: str) -> str:
    """A number written the way a spreadsheet of some locale writes it (independent of ocsol)."""
    whole, frac = f"{value:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return thousands.join(groups) + decimal + frac


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, 10**9), st.sampled_from([(" ", ","), ("\u00a0", ","), ("\u202f", ","), (",", "."),
                                                ("", ","), ("", "."), (".", ",")]))
@pytest.mark.slow
def test_locale_formats_read_as_meant(cents: int, style: tuple[str, str]) -> None:
    value = cents / 100
    text = _fmt(value, thousands=style[0], decimal=style[1])
    got = parse_numbers(pd.Series([text]), column="x", source="t.csv").iloc[0]
    assert got == pytest.approx(value, abs=1e-9), text


@pytest.mark.parametrize("cells, expected", [
    (["12,000", "0,5"], [12.0, 0.5]),  # the column's decimal comma decides
    (["12,000", "2.5"], [12000.0, 2.5]),  # the column's decimal dot decides
    (["12.000", "1,5"], [12000.0, 1.5]),
    (['"12,000"', "1,234,567"], [12000.0, 1234567.0]),
    (["1 234,5", "12,000"], [1234.5, 12.0]),
    (["50 %", "7"], [float("nan"), 7.0]),  # no percent sign unless asked
    (["", "n/a"], [float("nan"), float("nan")]),
])
def test_ambiguous_cells_decided_per_column(cells, expected) -> None:
    got = parse_numbers(pd.Series(cells), column="x", source="t.csv").tolist()
    assert got == pytest.approx(expected, nan_ok=True)


def test_ambiguous_column_decided_by_the_file_or_refused() -> None:
    df = pd.DataFrame({"a": ["12,000", "5"], "b": ["0,25", "3"]})
    assert parse_number_columns(df, ["a", "b"], source="t.csv")["a"].tolist() == [12.0, 5.0]
    with pytest.raises(SchemaError, match=r"t\.csv: column 'a': cell '12,000' .*no cell of the file shows"):
        parse_number_columns(df[["a"]], ["a"], source="t.csv")


def test_percent_options() -> None:
    s = pd.Series(["42,24 %", "0.5"])
    assert parse_numbers(s, column="w", source="t", percent="fraction").tolist() == pytest.approx([0.4224, 0.5])
    assert parse_numbers(s, column="w", source="t", percent="strip").tolist() == pytest.approx([42.24, 0.5])


def test_codes_normalised_once() -> None:
    got = as_code(pd.Series([" 1001", "2a004", "2b", "69123.0", "  ", None, "scot_Bassin"]), width=5)
    assert got.tolist() == ["01001", "2A004", "2B", "69123", None, None, "scot_Bassin"]
    with pytest.raises(SchemaError, match=r"x\.csv: column 'siren': code '2\.00047E\+08' \(line 3\) .*scientific"):
        as_code(pd.Series(["200046977", "2.00047E+08"]), column="siren", source="x.csv")


def test_whole_file_encoding(tmp_path) -> None:
    text = "code,nom\n" + "".join(f"{i:05d},x\n" for i in range(12000)) + "99999,Châteauroux\n"
    assert len(text) > 65536
    (tmp_path / "u.csv").write_text(text, encoding="utf-8")
    (tmp_path / "w.csv").write_text(text, encoding="cp1252")
    for name in ("u.csv", "w.csv"):
        df = read_table(tmp_path / name)
        assert df["nom"].iloc[-1] == "Châteauroux"
    assert decode_text((tmp_path / "w.csv").read_bytes())[1] == "cp1252"
    assert decode_text("\ufeffa".encode("utf-8"))[1] == "utf-8-sig"
    assert decode_text(b"\x81\x8d")[1] == "latin-1"  # bytes cp1252 leaves undefined


@pytest.mark.slow
def test_partition_check_is_fast_for_a_region() -> None:
    """10 000 square communes (a region's worth of neighbours) are checked in well under a few seconds."""
    n = 100
    geoms = [shapely.box(i * 10, j * 10, i * 10 + 10, j * 10 + 10) for i in range(n) for j in range(n)]
    communes = gpd.GeoDataFrame({"code": [f"{k:05d}" for k in range(n * n)]}, geometry=geoms, crs="EPSG:2154")
    t = time.perf_counter()
    check_partition(communes)
    assert time.perf_counter() - t < 20  # generous: a guard against a quadratic check, not a benchmark
    communes.loc[57, "geometry"] = shapely.box(0, 570, 10, 580.04)  # 0.4 m² into 00058: tolerated
    check_partition(communes)
    communes.loc[57, "geometry"] = shapely.box(0, 570, 10, 582)  # 20 m² into 00058
    with pytest.raises(CoverageError, match=r"00057 and 00058 overlap by 0\.0020 ha"):
        check_partition(communes)


def test_keys_without_a_typed_default_have_an_explicit_type() -> None:
    """Optional keys (default None) and required ones cannot be inferred: their field declares the type."""
    for sec, key, kind in [("territories", "path", "text"), ("territories", "layer", "text"),
                           ("territories", "levels", "table"), ("ocsge", "vintages", "table"),
                           ("zan", "targets", "text"), ("zan", "decades", "list"), ("efficiency", "periods", "list"),
                           ("report", "territories", "list"), ("cog", "since", "date"), ("raster", "unknown", "enum"),
                           ("consumption", "sheet", "either"), ("raster", "min_coverage", "number")]:
        assert spec_of(sec, key).kind == kind, (sec, key)
    for cls in SECTIONS.values():  # every key has help text for docs/config.md
        assert all(f.metadata["help"] for f in cls.keys().values()), cls.__name__


def test_config_is_typed_and_frozen() -> None:
    import dataclasses

    cfg = config_from_dict({"territories": {"path": "x.gpkg"}, "compare": {"with": ["69123"]},
                            "ocsge": {"diff": [{"from": 2015, "to": 2018, "paths": "a.shp"}]}})
    assert cfg.compare.with_ == ["69123"] and cfg.ocsge.diff[0].from_ == 2015 and cfg.ocsge.diff[0].rule is None
    assert cfg.zan.period == [2021, 2030] and not cfg.has("zan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.zan.horizon = 2060  # type: ignore[misc]


def test_config_reference_is_generated() -> None:
    """docs/config.md is the text generated from the dataclasses (regenerate: see reference_markdown)."""
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "config.md"
    assert doc.read_text(encoding="utf-8") == reference_markdown()


@pytest.mark.parametrize("data, message", [
    ({"zan": {"guarantee_ha": -1}}, r"\[zan\] guarantee_ha = -1: expected hectares"),
    ({"zan": {"reference": [2011]}}, r"\[zan\] reference: expected \[first year, last year\], found a list of 1"),
    ({"ocsge": {"repair": "yes"}}, r"\[ocsge\] repair: expected true or false, found text 'yes'"),
    ({"efficiency": {"sdg_variant": "log"}}, r"\[efficiency\] sdg_variant = 'log': use one of 'ln', 'linear'"),
    ({"raster": {"legend": "x", "vintages": {"2020": 5}}}, r"\[raster\] vintages\.2020: expected a file path"),
    ({"title": ["a"]}, r"title: expected text, found list"),
    ({"ocsge": {"diff": [{"from": 2019, "to": 2022, "paths": ["a.gpkg", 3]}]}},
     r"\[\[ocsge\.diff\]\] #1 paths: expected a file path or a list"),
])
def test_config_types_one_line(data, message) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        config_from_dict({"territories": {"path": "x.gpkg"}, **data})
    assert "\n" not in str(err.value)


def test_new_keys_are_checked_by_their_default() -> None:
    """A key declared with a typed default and no spec is checked by the type of its default."""
    spec = _infer(10.0)
    assert check_value("10 km", spec, "[compare] radius_km") == [
        "[compare] radius_km: expected a number, found text '10 km'"]
    assert check_value(12, spec, "k") == []
    assert spec_of("ocsge.thresholds", "area_m2").kind == "number"  # declared by its default 2500.0


def test_xlsx_numeric_cells_are_never_ambiguous(tmp_path) -> None:
    """A numeric spreadsheet cell 12.125 has no thousands separator: it must not need column evidence."""
    pd.DataFrame({"code": ["01001", "2A004"], "v": [12.125, 3.0], "n": [1001, 2]}).to_excel(
        tmp_path / "t.xlsx", index=False)
    df = read_table(tmp_path / "t.xlsx")
    assert parse_numbers(df["v"], column="v", source="t.xlsx").tolist() == [12.125, 3.0]
    assert as_code(df["code"], width=5).tolist() == ["01001", "2A004"]
    assert df["n"].tolist() == ["1001", "2"]


@pytest.mark.parametrize("boxes, fits", [
    # the four corners of mainland France and Corsica: inside EPSG:2154's area of use
    ([(-5.14, 48.3, -5.0, 48.4), (2.5, 51.0, 2.6, 51.09), (9.4, 41.33, 9.56, 41.4), (7.5, 43.7, 7.53, 43.8)], ""),
    ([(-61.6, 16.2, -61.5, 16.3)], "EPSG:5490"),  # Guadeloupe: RGAF09 / UTM 20N
    ([(55.4, -21.0, 55.5, -20.9)], "EPSG:2975"),  # La Réunion: RGR92 / UTM 40S
    ([(6.6, 0.3, 6.7, 0.4)], "EPSG:32632"),  # São Tomé: no French datum, WGS 84 / UTM 32N
])
def test_working_crs_area_of_use(tmp_path, boxes, fits) -> None:
    from ocsol.errors import CRSError
    from ocsol.io.territories import read_territories

    g = gpd.GeoDataFrame({"code": [f"{i:05d}" for i in range(len(boxes))]},
                         geometry=[shapely.box(*b) for b in boxes], crs="EPSG:4326")
    g.to_file(tmp_path / "t.gpkg")
    if not fits:
        t = read_territories(tmp_path / "t.gpkg", code="code")
        assert t.notes == ()
        return
    with pytest.raises(CRSError, match=rf"t\.gpkg: the territories .* outside the area of use of the working CRS "
                                       rf"EPSG:2154.*set crs = \"{fits}\""):
        read_territories(tmp_path / "t.gpkg", code="code")
    t = read_territories(tmp_path / "t.gpkg", code="code", crs=fits)  # the suggested CRS fits
    assert t.notes == ()
    # stored in the working CRS already: measured as given, with a qa note naming the fitting CRS
    g.to_crs("EPSG:2154").to_file(tmp_path / "l93.gpkg")
    t = read_territories(tmp_path / "l93.gpkg", code="code")
    assert fits in t.notes[0] and "outside its area of use" in t.notes[0]
