"""OCS GE as IGN delivers it: multi-layer GeoPackages (occupation + zone construite) and the
older per-département shapefiles (OCCUPATION_SOL.shp, upper-case fields); the layer is picked
when exactly one has the CS/US fields, otherwise one error lists the layers and asks for `layer =`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import ocsol
from ocsol.cli import main
from ocsol.errors import SchemaError


def _ign_gpkg(src: Path, dst: Path, year: int, *, second_occupation: bool = False) -> None:
    """The 2.0 GeoPackage layout: `occupation_du_sol` (lower-case IGN fields) and `zone_construite`."""
    occ = gpd.read_file(src)
    n = len(occ)
    occ = gpd.GeoDataFrame({
        "id": [f"OCSGE{year}{i:07d}" for i in range(n)], "code_cs": occ["code_cs"], "code_us": occ["code_us"],
        "millesime": str(year), "source": "BD TOPO", "ossature": 0, "id_origine": "", "code_or": "",
    }, geometry=occ.geometry.values, crs=occ.crs)
    # the zone construite layer comes first in the file: never read by chance
    zc = gpd.GeoDataFrame({"id": ["ZC1"], "millesime": [str(year)]}, geometry=[shapely.box(0, 0, 50, 50)],
                          crs=occ.crs)
    zc.to_file(dst, layer="zone_construite", driver="GPKG")
    occ.to_file(dst, layer="occupation_du_sol", driver="GPKG")
    if second_occupation:
        occ.to_file(dst, layer="occupation_du_sol_copie", driver="GPKG")


def _old_shp(src: Path, folder: Path, year: int) -> Path:
    """The older per-département shapefile: OCCUPATION_SOL.shp with upper-case fields."""
    occ = gpd.read_file(src)
    folder.mkdir()
    out = gpd.GeoDataFrame({
        "ID": [f"OCSGE{i:010d}" for i in range(len(occ))], "CODE_CS": occ["code_cs"], "CODE_US": occ["code_us"],
        "MILLESIME": str(year), "SOURCE": "BDTOPO", "OSSATURE": 0, "ID_ORIGINE": "", "CODE_OR": "",
    }, geometry=occ.geometry.values, crs=occ.crs)
    out.to_file(folder / "OCCUPATION_SOL.shp")
    return folder / "OCCUPATION_SOL.shp"


def _flows(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "flows.csv", dtype={"code": str}).set_index(["level", "code"])


@pytest.mark.slow
def test_ign_gpkg_and_old_shapefile_read_without_configuration(paper: Path, tmp_path: Path, capsys) -> None:
    _ign_gpkg(paper / "ocsge_2019.gpkg", paper / "OCS-GE_2-0__GPKG_LAMB93_D999_2019.gpkg", 2019)
    shp = _old_shp(paper / "ocsge_2022.gpkg", paper / "D999_2022", 2022)
    toml = (paper / "ocsol.toml").read_text(encoding="utf-8")
    toml = toml.replace('2019 = "ocsge_2019.gpkg"', '2019 = "OCS-GE_2-0__GPKG_LAMB93_D999_2019.gpkg"')
    toml = toml.replace('2022 = "ocsge_2022.gpkg"', f'2022 = "{shp.relative_to(paper).as_posix()}"')
    (paper / "ign.toml").write_text(toml, encoding="utf-8")
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(ref), "-q"]) == 0
    capsys.readouterr()
    assert main(["indicators", "-c", str(paper / "ign.toml"), "-o", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "layer" not in captured.err.lower()
    pd.testing.assert_frame_equal(_flows(out), _flows(ref))
    # on paper: 5 000 m² garden artificialised, half in each commune
    assert _flows(out).loc[("commune", "00001"), "artif_ha"] == pytest.approx(0.25)


@pytest.mark.slow
def test_ambiguous_layers_listed_with_their_fields(paper: Path, capsys) -> None:
    gpkg = paper / "two.gpkg"
    _ign_gpkg(paper / "ocsge_2019.gpkg", gpkg, 2019, second_occupation=True)
    toml = (paper / "ocsol.toml").read_text(encoding="utf-8").replace('"ocsge_2019.gpkg"', '"two.gpkg"')
    (paper / "ocsol.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        ocsol.compute(paper / "ocsol.toml")
    msg = str(exc.value)
    for part in ("3 layers", "'zone_construite' (id, millesime)", "'occupation_du_sol' (id, code_cs, code_us",
                 "'occupation_du_sol_copie'", 'layer = "…" in [ocsge]'):
        assert part in msg, part
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(paper / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ocsol: error:")
    # naming the layer settles it; the 2022 GeoPackage has a single layer of another name: a named
    # layer must exist in every GeoPackage (a shapefile, single-layer by nature, would ignore it)
    toml = toml.replace("[ocsge.vintages]", '[ocsge]\nlayer = "occupation_du_sol"\n[ocsge.vintages]')
    (paper / "ocsol.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"ocsge_2022.gpkg: no layer 'occupation_du_sol' in this OCS GE layer file"):
        ocsol.compute(paper / "ocsol.toml")
    gpd.read_file(paper / "ocsge_2022.gpkg").to_file(paper / "ocsge_2022.shp")
    (paper / "ocsol.toml").write_text(toml.replace('"ocsge_2022.gpkg"', '"ocsge_2022.shp"'), encoding="utf-8")
    named = ocsol.compute(paper / "ocsol.toml")
    assert named["flows"].set_index(["level", "code"]).loc[("epci", "E"), "artif_ha"] == pytest.approx(0.5)


def test_territories_layer_picked_by_code_field(paper: Path) -> None:
    communes = gpd.read_file(paper / "communes.gpkg")
    multi = paper / "admin.gpkg"
    communes[["geometry"]].assign(NOM_DEP=["X", "X"]).to_file(multi, layer="departement", driver="GPKG")
    communes.to_file(multi, layer="commune", driver="GPKG")
    toml = (paper / "ocsol.toml").read_text(encoding="utf-8").replace('path = "communes.gpkg"', 'path = "admin.gpkg"')
    (paper / "ocsol.toml").write_text(toml, encoding="utf-8")
    res = ocsol.compute(paper / "ocsol.toml")
    assert sorted(res["territories"].query("level == 'commune'")["code"]) == ["00001", "00002"]



@pytest.mark.slow
def test_library_warnings_stay_off_the_terminal(paper: Path, tmp_path: Path) -> None:
    """In a real process (pytest would catch warnings itself): a library warning raised while
    reading reaches the log (-v), not the terminal."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, warnings, ocsol.pipeline as p\n"
        "orig = p.load_territories\n"
        "def noisy(c):\n"
        "    warnings.warn('Workbook contains no default style, apply openpyxl default', UserWarning)\n"
        "    return orig(c)\n"
        "p.load_territories = noisy\n"
        "from ocsol.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    for extra, shown in (([], False), (["-v"], True)):
        run = subprocess.run([sys.executable, "-c", script, "indicators", "-c", str(paper / "ocsol.toml"),
                              "-o", str(tmp_path / "out"), *extra], capture_output=True, text=True, env=env,
                             timeout=300)
        assert run.returncode == 0, run.stderr
        assert ("openpyxl" in run.stderr) is shown, run.stderr
