"""Build the bad-input corpus: one folder per case, each with small files and an ``ocsol.toml``.

Run ``python tests/data/make_bad_corpus.py [OUT]`` (default ``tests/data/bad/``). The test suite
builds it in a temporary folder instead (``tests/test_bad_inputs.py``), so nothing binary is
committed: every broken file is derived from a small valid one by code, never edited by hand.

``cases.csv`` lists ``case, kind, exception, message`` where ``kind`` says how the case is run
(``indicators``: ``ocsol indicators -c CASE/ocsol.toml``; ``find``: look a territory code up with
``Territories.find``; ``noconfig``: ``-c`` names a file that does not exist; ``outself``: ``-o`` is the
case's own folder, which holds the inputs; ``value``: a tricky but
valid input that must run and give the right number, which the case's ``check`` asserts on the
output folder, computed independently of ocsol), ``exception`` is the
:mod:`ocsol.errors` class the library must raise and ``message`` a regex its message must match.
An optional ``argument`` column carries the territory code of ``find`` cases.
"""

from __future__ import annotations

import csv
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

CRS = "EPSG:2154"
HERE = Path(__file__).resolve().parent

# --- valid bases ----------------------------------------------------------------------------------

OCSGE_TOML = """\
[territories]
path = "communes.gpkg"
code = "CODE_INSEE"
name = "NOM"
levels = {{ epci = "EPCI" }}

[ocsge.vintages]
2019 = "{v1}"
2022 = "{v2}"
"""

CEREMA_TOML = """\
[territories]
path = "communes.csv"
code = "insee_com"
name = "nom"
area = "surface_ha"
levels = {{ epci = "epci" }}

[consumption]
path = "{conso}"
code = "idcom"
{extra}"""

RASTER_TOML = """\
[territories]
path = "zones.gpkg"
code = "code"

[raster]
legend = "legend.csv"

[raster.vintages]
2020 = "{r1}"
2021 = "{r2}"
"""


def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"CODE_INSEE": ["00001", "00002"], "NOM": ["A", "B"], "EPCI": ["E", "E"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=CRS,
    )


def vintage(year: int) -> gpd.GeoDataFrame:
    if year == 2019:
        cs, us = ["CS2.2.1", "CS2.1.1.1", "CS1.1.1.1"], ["US1.1", "US1.2", "US5"]
        geoms = [shapely.box(0, 0, 150, 50), shapely.box(0, 50, 150, 100), shapely.box(150, 0, 200, 100)]
    else:
        cs, us = ["CS2.2.1", "CS2.1.1.1", "CS2.2.1", "CS1.1.1.2"], ["US1.1", "US1.2", "US5", "US4.1.1"]
        geoms = [shapely.box(0, 0, 150, 50), shapely.box(0, 50, 50, 100), shapely.box(50, 50, 150, 100),
                 shapely.box(150, 0, 200, 100)]
    return gpd.GeoDataFrame({"code_cs": cs, "code_us": us}, geometry=geoms, crs=CRS)


def cerema_rows(years: range = range(2011, 2025)) -> tuple[list[str], list[list[str]]]:
    header = ["idcom", "idcomtxt"]
    for y in years:
        a, b = y % 100, (y + 1) % 100
        header += [f"naf{a:02d}art{b:02d}"] + [f"art{a:02d}{d}{b:02d}" for d in ("hab", "act", "mix", "rou", "fer", "inc")]
    rows = []
    for i, code in enumerate(["00001", "00002"]):
        row = [code, "AB"[i]]
        for _ in years:
            row += ["1000", "600", "300", "0", "100", "0", "0"]
        rows.append(row)
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def base_ocsge(d: Path, *, v1: str = "ocsge_2019.gpkg", v2: str = "ocsge_2022.gpkg", extra: str = "") -> None:
    communes().to_file(d / "communes.gpkg")
    vintage(2019).to_file(d / "ocsge_2019.gpkg")
    vintage(2022).to_file(d / "ocsge_2022.gpkg")
    (d / "ocsol.toml").write_text(OCSGE_TOML.format(v1=v1, v2=v2) + extra, encoding="utf-8")


def base_cerema(d: Path, *, conso: str = "conso.csv", extra: str = "") -> None:
    write_csv(d / "communes.csv", ["insee_com", "nom", "surface_ha", "epci"],
              [["00001", "A", "100", "E"], ["00002", "B", "100", "E"]])
    header, rows = cerema_rows()
    write_csv(d / "conso.csv", header, rows)
    (d / "ocsol.toml").write_text(CEREMA_TOML.format(conso=conso, extra=extra), encoding="utf-8")


X0, Y0 = 700_000.0, 6_600_000.0


def base_raster(d: Path, *, r1: str = "r2020.tif", r2: str = "r2021.tif", values2: np.ndarray | None = None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    zones = gpd.GeoDataFrame({"code": ["Z1", "Z2"]}, geometry=[shapely.box(X0, Y0 - 40, X0 + 20, Y0),
                                                              shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0)], crs=CRS)
    zones.to_file(d / "zones.gpkg")
    (d / "legend.csv").write_text("value,label,colour,artif\n1,Bâti,#FF0000,true\n2,Champ,#FFFF00,false\n",
                                  encoding="utf-8")
    a = np.array([[1, 1, 2, 2]] * 4, dtype="uint8")
    b = a.copy() if values2 is None else values2.astype("uint8")
    for name, arr in (("r2020.tif", a), ("r2021.tif", b)):
        with rasterio.open(d / name, "w", driver="GTiff", height=4, width=4, count=1, dtype="uint8", crs=CRS,
                           transform=from_origin(X0, Y0, 10, 10), nodata=0) as dst:
            dst.write(arr, 1)
    (d / "ocsol.toml").write_text(RASTER_TOML.format(r1=r1, r2=r2), encoding="utf-8")


# --- helpers that break things --------------------------------------------------------------------

def edit_layer(path: Path, fn: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame], **kw) -> None:
    gdf = fn(gpd.read_file(path))
    path.unlink()
    gdf.to_file(path, **kw)


def edit_csv(path: Path, fn: Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]) -> None:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = fn(rows[0], rows[1:])
    write_csv(path, header, body)


def set_cell(header, rows, column, row, value):
    rows[row][header.index(column)] = value
    return header, rows


def append_toml(d: Path, text: str) -> None:
    p = d / "ocsol.toml"
    p.write_text(p.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace_toml(d: Path, old: str, new: str) -> None:
    p = d / "ocsol.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text, (old, p)
    p.write_text(text.replace(old, new), encoding="utf-8")


# --- the cases ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    exception: str
    message: str
    build: Callable[[Path], None]
    kind: str = "indicators"
    argument: str = ""
    check: Callable[[Path], None] | None = None  # kind "value": asserts the right number in --out


def _drop(d: Path, name: str) -> None:
    (d / name).unlink()


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _lines(d: Path) -> None:
    base_ocsge(d)
    edit_layer(d / "ocsge_2019.gpkg", lambda g: g.set_geometry(g.geometry.boundary))


def _no_crs(d: Path) -> None:
    base_ocsge(d, v1="nocrs.shp")
    vintage(2019).set_crs(None, allow_override=True).to_file(d / "nocrs.shp")
    (d / "nocrs.prj").unlink(missing_ok=True)


def _overlap(d: Path) -> None:
    base_ocsge(d)
    edit_layer(d / "ocsge_2019.gpkg", lambda g: gpd.GeoDataFrame(
        __import__("pandas").concat([g, g.iloc[[0]]], ignore_index=True), crs=CRS))


def _gap(d: Path) -> None:
    base_ocsge(d)
    # a hole of 30 m × 100 m in both vintages inside commune B: 30 % of B uncovered
    def cut(g):
        hole = shapely.box(160, 0, 190, 100)
        return g.set_geometry(g.geometry.difference(hole))
    edit_layer(d / "ocsge_2019.gpkg", cut)
    edit_layer(d / "ocsge_2022.gpkg", cut)


def _not_covering(d: Path) -> None:
    base_ocsge(d)
    for y in (2019, 2022):
        edit_layer(d / f"ocsge_{y}.gpkg", lambda g: g[g.geometry.bounds["minx"] < 100])


def _wrong_driver(d: Path) -> None:
    base_ocsge(d)
    (d / "ocsge_2019.gpkg").write_text("code_cs,code_us\nCS2.2.1,US1.1\n", encoding="utf-8")


def _diff_no_year(d: Path) -> None:
    communes().to_file(d / "communes.gpkg")
    g = vintage(2019).rename(columns={"code_cs": "cs_2015", "code_us": "us_2015"})
    g["cs_2018"], g["us_2018"] = g["cs_2015"], g["us_2015"]
    g.to_file(d / "diff.gpkg")
    text = OCSGE_TOML.format(v1="", v2="").split("[ocsge.vintages]")[0]
    text += '[[ocsge.diff]]\nfrom = 2019\nto = 2022\npaths = ["diff.gpkg"]\n'
    (d / "ocsol.toml").write_text(text, encoding="utf-8")


def _diff_years(a: int, b: int) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        _diff_no_year(d)
        replace_toml(d, "from = 2019\nto = 2022", f"from = {a}\nto = {b}")
    return build


def _cerema_truncated(d: Path) -> None:
    base_cerema(d)
    p = d / "conso.csv"
    text = p.read_text(encoding="utf-8")
    p.write_text(text[: len(text) - 20], encoding="utf-8")  # the last line loses its last cells


def _cerema_dest_gross(d: Path) -> None:
    base_cerema(d)
    edit_csv(d / "conso.csv", lambda h, r: set_cell(h, r, "art12hab13", 1, "900000"))


def _cerema_gap_year(d: Path) -> None:
    base_cerema(d)
    edit_csv(d / "conso.csv", lambda h, r: ([c for c in h if not c.startswith(("naf12", "art12"))],
                                            [[v for c, v in zip(h, row, strict=True) if not c.startswith(("naf12", "art12"))]
                                             for row in r]))


def _cerema_rename(old: str, new: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d)
        edit_csv(d / "conso.csv", lambda h, r: ([new if c == old else c for c in h], r))
    return build


def _cerema_cell(column: str, row: int, value: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d)
        edit_csv(d / "conso.csv", lambda h, r: set_cell(h, r, column, row, value))
    return build


def _population(rows: list[list[str]], header: list[str]) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d, extra='\n[population]\npath = "pop.csv"\ncode = "insee_com"\n')
        write_csv(d / "pop.csv", header, rows)
    return build


def _cog_changes(changes: str, weights: str | None = None) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        extra = '\n[cog]\nchanges = "changes.csv"\n' + ('weights = "weights.csv"\n' if weights else "")
        base_cerema(d, extra=extra)
        (d / "changes.csv").write_text(changes, encoding="utf-8")
        if weights:
            (d / "weights.csv").write_text(weights, encoding="utf-8")
    return build


def _targets(d: Path) -> None:
    base_cerema(d, extra='\n[zan]\ntargets = "targets.csv"\n')
    write_csv(d / "targets.csv", ["level", "code", "target_pct", "source"], [["epci", "E", "150", "SCoT"]])


def _territories_csv(rows: list[list[str]], header: list[str], area: bool = True) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d)
        write_csv(d / "communes.csv", header, rows)
        if not area:
            replace_toml(d, 'area = "surface_ha"\n', "")
    return build


def _territories_layer(fn) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_ocsge(d)
        edit_layer(d / "communes.gpkg", fn)
    return build


def _ocsge_layer(fn, name: str = "ocsge_2019.gpkg") -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_ocsge(d)
        edit_layer(d / name, fn)
    return build


def _set_loc(g, row, col, value):
    g.loc[row, col] = value
    return g


def _raster_unknown(d: Path) -> None:
    b = np.array([[1, 1, 2, 2]] * 4)
    b[0, 0] = 7
    b[1, 3] = 9
    base_raster(d, values2=b)


def _raster_not_tif(d: Path) -> None:
    base_raster(d)
    (d / "r2021.tif").write_text("not a raster\n", encoding="utf-8")


def _raster_truncated(d: Path) -> None:
    base_raster(d)
    _truncate(d / "r2021.tif", 0.3)


def _raster_grid(d: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    base_raster(d)
    with rasterio.open(d / "r2021.tif", "w", driver="GTiff", height=4, width=4, count=1, dtype="uint8", crs=CRS,
                       transform=from_origin(X0 + 5, Y0, 10, 10), nodata=0) as dst:
        dst.write(np.ones((4, 4), dtype="uint8"), 1)


def _config(text: str, base: Callable[[Path], None] = base_ocsge) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base(d)
        append_toml(d, text)
    return build


def _config_replace(old: str, new: str, base: Callable[[Path], None] = base_ocsge) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base(d)
        replace_toml(d, old, new)
    return build


POP_HEADER = ["insee_com", "pmun2011", "pmun2015"]


# --- issue 9: numbers, codes, partition, config types, CRS, raster coverage, encodings ----------

def _cerema_cells(cells: dict[tuple[str, int], str], extra: str = "") -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d, extra=extra)

        def edit(h, r):
            for (col, row), value in cells.items():
                set_cell(h, r, col, row, value)
            return h, r
        edit_csv(d / "conso.csv", edit)
    return build


def _read(out: Path, table: str) -> pd.DataFrame:  # noqa: F821
    import pandas as pd

    return pd.read_csv(out / f"{table}.csv", dtype={"code": str}, keep_default_na=True)


def _value(table: str, where: dict, column: str, expected: float | str, *, rel: float = 1e-9):
    def check(out: Path) -> None:
        df = _read(out, table)
        for k, v in where.items():
            df = df[df[k].astype(type(v)) == v] if not isinstance(v, str) else df[df[k].astype(str) == v]
        assert len(df) == 1, (table, where, len(df))
        got = df[column].iloc[0]
        if isinstance(expected, str):
            assert str(got) == expected, (got, expected)
        elif expected != expected:  # NaN: an empty figure
            assert got != got, got
        else:
            assert abs(float(got) - expected) <= rel * max(1.0, abs(expected)), (got, expected)
    return check


def _all(*checks):
    def check(out: Path) -> None:
        for c in checks:
            c(out)
    return check


def _territories_codes(codes: list[str], conso_codes: list[str] | None = None) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        base_cerema(d)
        write_csv(d / "communes.csv", ["insee_com", "nom", "surface_ha", "epci"],
                  [[codes[0], "A", "100", "E"], [codes[1], "B", "100", "E"]])
        if conso_codes:
            edit_csv(d / "conso.csv", lambda h, r: (h, [[conso_codes[i], *row[1:]] for i, row in enumerate(r)]))
    return build


def _tropics(d: Path) -> None:
    base_ocsge(d)
    g = gpd.GeoDataFrame({"CODE_INSEE": ["97101", "97102"], "NOM": ["A", "B"], "EPCI": ["E", "E"]},
                         geometry=[shapely.box(-61.60, 16.20, -61.55, 16.25), shapely.box(-61.55, 16.20, -61.50, 16.25)],
                         crs="EPSG:4326")
    (d / "communes.gpkg").unlink()
    g.to_file(d / "communes.gpkg")


def _long_names(d: Path, encoding: str, straddle: bool) -> None:
    """Territory names whose first accent lies past the first 64 KiB of the file."""
    base_cerema(d)
    header = ["insee_com", "nom", "surface_ha", "epci", "commentaire"]
    head = ",".join(header) + "\n" + "00001,A,100,E,"
    # the é of "Bézier" sits 8 bytes after the padding: across byte 65 536, or past it
    pad = (65535 if straddle else 65536) - len(head.encode(encoding)) - len("\n00002,B")
    text = head + "x" * pad + "\n00002,Bézier,100,E,\n"
    (d / "communes.csv").write_bytes(text.encode(encoding))


def _raster_partial(d: Path) -> None:
    base_raster(d)
    zones = gpd.GeoDataFrame({"code": ["Z1", "Z2"]}, geometry=[shapely.box(X0, Y0 - 40, X0 + 20, Y0),
                                                              shapely.box(X0 + 20, Y0 - 40, X0 + 60, Y0)], crs=CRS)
    (d / "zones.gpkg").unlink()
    zones.to_file(d / "zones.gpkg")


def _raster_small_zone(d: Path) -> None:
    base_raster(d)
    zones = gpd.GeoDataFrame({"code": ["Z1", "Z2"]}, geometry=[shapely.box(X0 + 4, Y0 - 16, X0 + 16, Y0 - 4),
                                                              shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0)], crs=CRS)
    (d / "zones.gpkg").unlink()
    zones.to_file(d / "zones.gpkg")
    replace_toml(d, 'legend = "legend.csv"\n', 'legend = "legend.csv"\nmin_coverage = 0.0\n')


def _encoding_noted(encoding: str):
    def check(out: Path) -> None:
        qa = _read(out, "qa")
        hit = qa[qa["topic"] == "encoding"]
        assert len(hit) == 1 and f"decoded as {encoding}" in hit["item"].iloc[0], qa
    return check

CASES: list[Case] = [
    # configuration
    Case("config_syntax_error", "ConfigError", r"ocsol\.toml: TOML syntax error.*line \d+",
         _config("\n[zan]\ntarget_pct = \n")),
    Case("config_unknown_key", "ConfigError", r"unknown key 'codee' in \[territories\] \(did you mean 'code'\?\)",
         _config_replace('code = "CODE_INSEE"', 'codee = "CODE_INSEE"')),
    Case("config_unknown_section", "ConfigError", r"unknown key 'ocsgee' \(did you mean 'ocsge'\?\)",
         _config_replace("[ocsge.vintages]", "[ocsgee.vintages]")),
    Case("config_missing_required_key", "ConfigError", r"\[consumption\] needs a 'path' key",
         _config_replace('path = "conso.csv"', 'code_ = 1', base_cerema)),
    Case("config_no_territories", "ConfigError", r"a \[territories\] section is required",
         lambda d: (base_ocsge(d), (d / "ocsol.toml").write_text(
             '[ocsge.vintages]\n2019 = "ocsge_2019.gpkg"\n2022 = "ocsge_2022.gpkg"\n', encoding="utf-8"))),
    Case("config_vintage_not_a_year", "ConfigError", r"vintage 'deux-mille' is not a year",
         _config_replace("2022 = ", "deux-mille = ")),
    Case("config_not_found", "ConfigError", r"missing\.toml: configuration file not found", lambda d: None,
         kind="noconfig"),
    Case("config_not_utf8", "ConfigError", r"ocsol\.toml: not UTF-8 text",
         lambda d: (base_ocsge(d), (d / "ocsol.toml").write_bytes("title = 'Bl\xe9'\n".encode("latin-1")))),
    # territories
    Case("territories_missing_file", "InputFileError", r"communes\.gpkg: territories file not found",
         lambda d: (base_ocsge(d), _drop(d, "communes.gpkg"))),
    Case("territories_duplicate_codes", "SchemaError", r"communes\.gpkg: duplicate commune codes in column 'CODE_INSEE': 00001",
         _territories_layer(lambda g: _set_loc(g, 1, "CODE_INSEE", "00001"))),
    Case("territories_renamed_code_field", "SchemaError",
         r"communes\.gpkg: no column 'CODE_INSEE' for the commune code.*territories\.code",
         _territories_layer(lambda g: g.rename(columns={"CODE_INSEE": "INSEE"}))),
    Case("territories_points", "SchemaError", r"communes\.gpkg: the territories must hold polygons.*Point",
         _territories_layer(lambda g: g.set_geometry(g.centroid))),
    Case("territories_table_without_area", "SchemaError", r"communes\.csv: a territories table without geometry needs an area",
         _territories_csv([["00001", "A", "E"], ["00002", "B", "E"]], ["insee_com", "nom", "epci"], area=False)),
    Case("territories_negative_area", "SchemaError", r"communes\.csv: column 'surface_ha' has 1 .*commune 00002",
         _territories_csv([["00001", "A", "100", "E"], ["00002", "B", "-3", "E"]],
                          ["insee_com", "nom", "surface_ha", "epci"])),
    # OCS GE vintages
    Case("ocsge_missing_file", "InputFileError", r"ocsge_2022\.gpkg: OCS GE layer file not found",
         lambda d: (base_ocsge(d), _drop(d, "ocsge_2022.gpkg"))),
    Case("ocsge_truncated_gpkg", "InputFileError", r"ocsge_2019\.gpkg: cannot read OCS GE layer",
         lambda d: (base_ocsge(d), _truncate(d / "ocsge_2019.gpkg"))),
    Case("ocsge_empty_file", "InputFileError", r"ocsge_2019\.gpkg: OCS GE layer file is empty",
         lambda d: (base_ocsge(d), (d / "ocsge_2019.gpkg").write_bytes(b""))),
    Case("ocsge_wrong_extension", "InputFileError", r"ocsge_2019\.txt: unsupported OCS GE layer format '\.txt'",
         lambda d: (base_ocsge(d, v1="ocsge_2019.txt"), (d / "ocsge_2019.txt").write_text("x\n"))),
    Case("ocsge_wrong_driver", "InputFileError", r"ocsge_2019\.gpkg: cannot read OCS GE layer", _wrong_driver),
    Case("ocsge_missing_us_column", "SchemaError", r"ocsge_2019\.gpkg: no usage \(US\) column.*ocsge\.us_field",
         _ocsge_layer(lambda g: g.rename(columns={"code_us": "autre"}))),
    Case("ocsge_renamed_cs_field", "SchemaError", r"ocsge_2019\.gpkg: no column 'CS' for the couverture.*ocsge\.cs_field",
         _config_replace("[ocsge.vintages]", '[ocsge]\ncs_field = "CS"\n\n[ocsge.vintages]')),
    Case("ocsge_unknown_cs_code", "UnknownCodeError", r"ocsge_2019\.gpkg: 1 \(couverture, usage\) couple.*'CS9\.9'",
         _ocsge_layer(lambda g: _set_loc(g, 0, "code_cs", "CS9.9"))),
    Case("ocsge_unknown_us_code", "UnknownCodeError", r"ocsge_2022\.gpkg: 1 \(couverture, usage\) couple.*'US9\.9'",
         _ocsge_layer(lambda g: _set_loc(g, 0, "code_us", "US9.9"), "ocsge_2022.gpkg")),
    Case("ocsge_points", "SchemaError", r"ocsge_2019\.gpkg: the OCS GE layer must hold polygons; found 3 .*Point",
         _ocsge_layer(lambda g: g.set_geometry(g.centroid))),
    Case("ocsge_lines", "SchemaError", r"ocsge_2019\.gpkg: the OCS GE layer must hold polygons.*LineString", _lines),
    Case("ocsge_empty_layer", "InputFileError", r"ocsge_2019\.gpkg: the OCS GE layer layer is empty",
         _ocsge_layer(lambda g: g.iloc[0:0])),
    Case("ocsge_no_crs", "CRSError", r"nocrs\.shp: OCS GE layer has no CRS", _no_crs),
    Case("ocsge_not_covering", "CoverageError", r"covered below 99\.0 %: 00002 in 2019", _not_covering),
    Case("ocsge_overlapping_polygons", "CoverageError", r"vintage 2019: .*commune 00001.*overlapping polygons \(double counting\)", _overlap),
    Case("ocsge_gap_in_vintage", "CoverageError", r"covered below 99\.0 %: 00002 in 2019: 70\.0 %", _gap),
    Case("ocsge_diff_missing_year_field", "SchemaError", r"diff\.gpkg: no field cs_2019 for the from vintage.*2015",
         _diff_no_year),
    Case("ocsge_diff_equal_vintages", "ConfigError", r"from and to are both 2019", _diff_years(2019, 2019)),
    Case("ocsge_diff_reversed_vintages", "ConfigError", r"from = 2022 is after to = 2019", _diff_years(2022, 2019)),
    # Cerema consumption
    Case("cerema_missing_file", "InputFileError", r"conso_2024\.csv: Cerema consumption file not found",
         lambda d: base_cerema(d, conso="conso_2024.csv")),
    Case("cerema_truncated_line", "SchemaError", r"conso\.csv: column 'art24\w+25': empty cell for commune 00002",
         _cerema_truncated),
    Case("cerema_non_numeric_cell", "SchemaError", r"conso\.csv: column 'naf12art13': non-numeric value for commune 00001 \('n/a'\)",
         _cerema_cell("naf12art13", 0, "n/a")),
    Case("cerema_negative_cell", "SchemaError", r"conso\.csv: column 'art13hab14': negative value for commune 00002 \('-50'\)",
         _cerema_cell("art13hab14", 1, "-50")),
    Case("cerema_renamed_code_column", "SchemaError", r"conso\.csv: no column 'idcom' for the commune code.*consumption\.code",
         _cerema_rename("idcom", "code_insee_2024")),
    Case("cerema_missing_destination_column", "SchemaError", r"conso\.csv: missing destination column\(s\) art12fer13",
         _cerema_rename("art12fer13", "art12ferro13")),
    Case("cerema_duplicate_codes", "SchemaError", r"conso\.csv: column 'idcom': duplicate commune code\(s\) 00001",
         _cerema_cell("idcom", 1, "00001")),
    Case("cerema_gap_in_years", "SchemaError", r"conso\.csv: missing annual column\(s\) naf12art13", _cerema_gap_year),
    Case("cerema_destinations_disagree", "InvariantError",
         r"conso\.csv: Cerema identities grossly violated: destinations_sum 00002 2012", _cerema_dest_gross),
    Case("cerema_not_a_cerema_file", "SchemaError", r"conso\.csv: no annual consumption column",
         lambda d: (base_cerema(d), write_csv(d / "conso.csv", ["idcom", "surface"], [["00001", "3"]]))),
    Case("cerema_xlsx_not_excel", "InputFileError", r"conso\.xlsx: cannot read as a Cerema consumption",
         lambda d: (base_cerema(d, conso="conso.xlsx"), (d / "conso.xlsx").write_text("idcom\n00001\n"))),
    # population, targets
    Case("population_non_numeric", "SchemaError", r"pop\.csv: column 'pmun2015': non-numeric value for commune 00002",
         _population([["00001", "10", "12"], ["00002", "20", "vingt"]], POP_HEADER)),
    Case("population_no_year_columns", "SchemaError", r"pop\.csv: no population columns found",
         _population([["00001", "10"]], ["insee_com", "habitants"])),
    Case("targets_out_of_range", "SchemaError", r"targets\.csv: line 2 \(epci E\): target_pct '150'", _targets),
    # commune-code reconciliation ([cog])
    Case("cog_unknown_key", "ConfigError", r"unknown key 'delegues' in \[cog\] \(did you mean 'deleguees'\?\)",
         _config('\n[cog]\ndelegues = "d.csv"\n', base_cerema)),
    Case("cog_no_table", "ConfigError", r"\[cog\] needs changes = .* and/or deleguees",
         _config('\n[cog]\nsince = "2019-01-01"\n', base_cerema)),
    Case("cog_changes_missing_column", "SchemaError", r"changes\.csv: no COM_AP column.*cog\.changes", _cog_changes(
        "MOD,DATE_EFF,TYPECOM_AV,COM_AV,TYPECOM_AP\n32,2024-01-01,COM,00002,COM\n")),
    Case("cog_weights_not_summing_to_one", "SchemaError", r"weights of 00001 sum to 0\.9, not 1.*\[cog\]\.weights",
         _cog_changes("MOD,DATE_EFF,TYPECOM_AV,COM_AV,TYPECOM_AP,COM_AP\n20,2024-01-01,COM,00001,COM,00001\n"
                      "20,2024-01-01,COM,00001,COM,00002\n", weights="old_code,new_code,weight\n00001,00001,0.5\n"
                      "00001,00002,0.4\n")),
    Case("cog_weight_not_a_number", "SchemaError", r"weights\.csv: line 2: weight 'half' is not a number",
         _cog_changes("MOD,DATE_EFF,TYPECOM_AV,COM_AV,TYPECOM_AP,COM_AP\n20,2024-01-01,COM,00001,COM,00002\n",
                      weights="old_code,new_code,weight\n00001,00002,half\n")),
    # rasters
    Case("raster_unknown_values", "UnknownCodeError", r"r2021\.tif \(2021\): 2 value\(s\) not in legend .*7 \(1 px\), 9 \(1 px\)", _raster_unknown),
    Case("raster_not_a_raster", "InputFileError", r"r2021\.tif: cannot open the .* as a raster", _raster_not_tif),
    Case("raster_missing_file", "InputFileError", r"r2022\.tif: .*file not found",
         lambda d: base_raster(d, r2="r2022.tif")),
    Case("raster_grid_mismatch", "SchemaError", r"r2021\.tif \(2021\) is not on the grid of .*r2020\.tif", _raster_grid),
    # territory codes
    Case("territory_code_unknown", "TerritoryNotFoundError",
         r"territory '00003' not found in .*\(did you mean '0000[12]' or '0000[12]'\?\)", base_ocsge, kind="find",
         argument="00003"),
    Case("territory_code_typo", "TerritoryNotFoundError", r"territory 'EE' not found.*did you mean 'E'", base_ocsge,
         kind="find", argument="EE"),
    # --- issue 9 -----------------------------------------------------------------------------
    # item 6: one number parser, codes normalised once
    Case("cerema_french_thousands", "", "", _cerema_cells({("naf11art12", 0): "1 234,5", ("art11hab12", 0): "834,5"}),
         kind="value", check=_value("consumption", {"level": "commune", "code": "00001", "year": 2011}, "total_ha",
                                    1234.5 / 10_000)),
    Case("cerema_no_break_spaces", "", "", _cerema_cells({("naf11art12", 1): "12\u202f000",
                                                         ("art11hab12", 1): "11\u00a0600"}),
         kind="value", check=_value("consumption", {"level": "commune", "code": "00002", "year": 2011}, "habitat_ha",
                                    11600 / 10_000)),
    Case("cerema_english_grouping", "", "", _cerema_cells({("naf11art12", 0): "1,234.5", ("art11hab12", 0): "834.5"}),
         kind="value", check=_value("consumption", {"level": "epci", "code": "E", "year": 2011}, "total_ha",
                                    (1234.5 + 1000) / 10_000)),
    Case("cerema_ambiguous_decided_by_column", "", "",
         _cerema_cells({("naf11art12", 0): "12,000", ("art11hab12", 0): "11,7", ("art11act12", 0): "0,3",
                        ("art11rou12", 0): "0", ("naf11art12", 1): "1000,5", ("art11hab12", 1): "600,5"}),
         kind="value", check=_all(
             _value("consumption", {"level": "commune", "code": "00001", "year": 2011}, "total_ha", 12.0 / 10_000),
             _value("consumption", {"level": "commune", "code": "00002", "year": 2011}, "total_ha", 1000.5 / 10_000))),
    Case("cerema_ambiguous_column", "SchemaError",
         r"conso\.csv: column 'naf11art12': cell '12,000' could be a thousands separator or a decimal mark",
         _cerema_cells({("naf11art12", 0): "12,000"})),
    Case("cerema_mixed_decimal_marks", "SchemaError",
         r"conso\.csv: column 'naf13art14': cell '12,000' .*other cells use both ',' and '\.'",
         _cerema_cells({("naf13art14", 0): "12,000", ("naf14art15", 1): "999,5", ("naf15art16", 1): "999.5"})),
    Case("cerema_code_scientific", "SchemaError",
         r"conso\.csv: column 'idcom': code '1E\+00' \(line 2\) is in scientific notation",
         _cerema_cells({("idcom", 0): "1E+00"})),
    Case("territories_code_scientific", "SchemaError",
         r"communes\.csv: column 'epci': code '2\.00047E\+08' .*scientific notation.*re-export the column as text",
         _territories_csv([["00001", "A", "100", "2.00047E+08"], ["00002", "B", "100", "E"]],
                          ["insee_com", "nom", "surface_ha", "epci"])),
    Case("population_code_scientific", "SchemaError", r"pop\.csv: column 'insee_com': code '6\.9123E\+04'",
         _population([["6.9123E+04", "10", "12"], ["00002", "20", "21"]], POP_HEADER)),
    Case("territories_codes_unpadded", "", "", _territories_codes(["1", "2"]), kind="value",
         check=_value("consumption", {"level": "commune", "code": "00002", "year": 2012}, "total_ha", 0.1)),
    Case("territories_codes_corsica_lower_case", "", "", _territories_codes(["2a004", "2b002"], ["2A004", " 2B002 "]),
         kind="value", check=_value("consumption", {"level": "commune", "code": "2B002", "year": 2020}, "route_ha",
                                    0.01)),
    Case("territories_area_french_decimal", "", "",
         _territories_csv([["00001", "A", "1 000,5", "E"], ["00002", "B", "99,5", "E"]],
                          ["insee_com", "nom", "surface_ha", "epci"]),
         kind="value", check=_value("territories", {"level": "epci", "code": "E"}, "area_ha", 1100.0)),
    Case("targets_percent_sign", "", "",
         lambda d: (base_cerema(d, extra='\n[zan]\ntargets = "targets.csv"\n'),
                    write_csv(d / "targets.csv", ["level", "code", "target_pct", "source"], [["epci", "E", "30 %", "SCoT"]])),
         kind="value", check=_value("zan", {"level": "epci", "code": "E"}, "target_pct", 30.0)),
    Case("population_ambiguous_thousands", "SchemaError", r"pop\.csv: column 'pmun2015': cell '12,000' could be",
         _population([["00001", "10", "12,000"], ["00002", "20", "21"]], POP_HEADER)),
    # item 7: territories are a partition
    Case("territories_overlapping", "CoverageError",
         r"communes\.gpkg: the territories must not overlap.*00001 and 00002 overlap by 0\.5000 ha",
         _territories_layer(lambda g: g.set_geometry([shapely.box(0, 0, 100, 100), shapely.box(50, 0, 200, 100)]))),
    Case("territories_same_geometry_two_codes", "CoverageError",
         r"communes\.gpkg: the territories must not overlap.*00001 and 00002 have the same geometry",
         _territories_layer(lambda g: g.set_geometry([shapely.box(0, 0, 100, 100)] * 2))),
    Case("territories_sliver_tolerated", "", "",
         _territories_layer(lambda g: g.set_geometry([shapely.box(0, 0, 100.004, 100), shapely.box(100, 0, 200, 100)])),
         kind="value", check=_value("stock_summary", {"level": "commune", "code": "00001", "vintage": 2019}, "area_ha",
                                    100.004 * 100 / 10_000, rel=1e-7)),
    # item 9: config types and duplicate vintages
    Case("config_level_not_text", "ConfigError",
         r"\[territories\] levels\.epci: expected a column name \(text\), found integer 5",
         _config_replace('levels = { epci = "EPCI" }', "levels = { epci = 5 }")),
    Case("config_min_coverage_text", "ConfigError", r"\[ocsge\] min_coverage: expected a share between 0 and 1, found text 'high'",
         _config_replace("[ocsge.vintages]", '[ocsge]\nmin_coverage = "high"\n\n[ocsge.vintages]')),
    Case("config_target_pct_percent_sign", "ConfigError",
         r"\[zan\] target_pct: expected a percentage between 0 and 100 .*found text '50%'",
         _config('\n[zan]\ntarget_pct = "50%"\n', base_cerema)),
    Case("config_duplicate_vintage", "ConfigError",
         r"\[ocsge\] vintages: keys '2019' and '02019' name the same vintage 2019",
         _config_replace('2022 = "ocsge_2022.gpkg"', '"02019" = "ocsge_2022.gpkg"')),
    Case("config_area_unit_unknown", "ConfigError", r"\[territories\] area_unit = 'acres': use one of 'ha', 'm2', 'km2'",
         _config_replace('area = "surface_ha"', 'area = "surface_ha"\narea_unit = "acres"', base_cerema)),
    Case("config_decade_year_text", "ConfigError", r"\[zan\] decades\[1\]\[1\]: expected a year, found text '2050'",
         _config('\n[zan]\ndecades = [[2031, 2040, 50], [2041, "2050", 100]]\n', base_cerema)),
    Case("config_report_code_number", "ConfigError",
         r"\[report\] territories\[0\]: expected a territory code written as text",
         _config("\n[report]\nterritories = [1001]\n")),
    Case("config_since_not_a_date", "ConfigError", r"\[cog\] since = '2019': expected a date YYYY-MM-DD",
         _config('\n[cog]\nchanges = "changes.csv"\nsince = "2019"\n', base_cerema)),
    Case("config_block_size_zero", "ConfigError", r"\[raster\] block_size = 0: expected an integer in \[1",
         _config_replace('legend = "legend.csv"\n', 'legend = "legend.csv"\nblock_size = 0\n', base_raster)),
    Case("config_neighbours_fraction", "ConfigError", r"\[compare\] neighbours: expected an integer",
         _config("\n[compare]\nneighbours = 2.5\n")),
    # item 10 (raster part): partly covered zones are empty with a reason
    Case("raster_zone_half_outside", "", "", _raster_partial, kind="value", check=_all(
        _value("stock_summary", {"level": "commune", "code": "Z2", "vintage": 2020}, "covered_pct", 50.0),
        _value("stock_summary", {"level": "commune", "code": "Z2", "vintage": 2020}, "artif_ha", float("nan")),
        _value("stock_summary", {"level": "commune", "code": "Z1", "vintage": 2020}, "artif_ha", 0.08))),
    # item 11: CRS area of use, raster messages
    Case("territories_outside_working_crs", "CRSError",
         r"communes\.gpkg: the territories .*lie outside the area of use of the working CRS EPSG:2154.*"
         r"crs = \"EPSG:5490\" in ocsol\.toml", _tropics),
    Case("raster_zone_smaller_than_its_pixels", "", "", _raster_small_zone, kind="value",
         check=_value("stock_summary", {"level": "commune", "code": "Z1", "vintage": 2021}, "covered_ha", 0.04)),
    # item 12: encoding decided on the whole file
    Case("territories_cp1252_accent_after_64k", "", "", lambda d: _long_names(d, "cp1252", False), kind="value",
         check=_all(_value("territories", {"level": "commune", "code": "00002"}, "name", "Bézier"),
                    _encoding_noted("cp1252"))),
    # item 3 (i9a's, on main): an --out that is the folder of the configuration is refused
    Case("out_is_the_config_folder", "OutputError",
         r"(--out|output folder) \S*out_is_the_config_folder: this folder holds the input \S*out_is_the_config_folder/\S+, which the "
         r"run reads",
         base_ocsge, kind="outself"),
    Case("territories_utf8_accent_across_64k", "", "", lambda d: _long_names(d, "utf-8", True), kind="value",
         check=_value("territories", {"level": "commune", "code": "00002"}, "name", "Bézier")),
]


def build(out: Path) -> list[Case]:
    """Write every case into ``out/<case>/`` and ``out/cases.csv``; return the cases."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        d = out / case.name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        case.build(d)
    with open(out / "cases.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["case", "kind", "exception", "message", "argument"])
        for c in CASES:
            w.writerow([c.name, c.kind, c.exception, c.message, c.argument])
    return CASES


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "bad"
    cases = build(target)
    print(f"wrote {len(cases)} cases to {target}")
