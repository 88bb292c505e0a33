"""The `measure` column: every artificialisation table says what its figures measure, and
tables of several measures ([ocsge] and [raster] in one config) keep every row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

import ocsol
from ocsol.indicators import headline_measure

TABLES = ["stock_summary", "stock", "flows", "transitions", "land_account"]


def _write_tif(path: Path, arr: np.ndarray) -> Path:
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": 1, "dtype": "uint8",
               "crs": "EPSG:2154", "transform": from_origin(0, 100, 10, 10), "nodata": 0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr.astype("uint8"), 1)
    return path


def _rasters(folder: Path) -> None:
    """10 m pixels over the paper communes (x 0–200, y 0–100): 1 = built, 2 = fields."""
    a = np.full((10, 20), 2)
    a[:, 15:] = 1  # x 150–200 built in 2020 (commune B)
    b = a.copy()
    b[:5, 5:15] = 1  # x 50–150, y 50–100 built in 2021: 2 500 m² in A, 2 500 m² in B
    _write_tif(folder / "r2020.tif", a)
    _write_tif(folder / "r2021.tif", b)
    (folder / "legend.csv").write_text("value,label,colour,artif\n1,Bâti,#FF0000,true\n2,Champ,#FFFF00,false\n",
                                       encoding="utf-8")


RASTER = '\n[raster]\nlegend = "legend.csv"\n[raster.vintages]\n2020 = "r2020.tif"\n2021 = "r2021.tif"\n'


def test_measure_right_after_code_decret_matrix(paper: Path) -> None:
    res = ocsol.compute(paper / "ocsol.toml")
    for name in TABLES:
        df = res[name]
        assert list(df.columns[:3]) == ["level", "code", "measure"], name
        assert len(df) and set(df["measure"]) == {"decret_matrix"}, name


def test_user_rule_is_custom_rule(paper: Path) -> None:
    (paper / "rule.csv").write_text("cs,us,artif,imper\nCS1.1.1.*,*,true,true\nCS2.2.1,US5,true,false\n*,*,false,false\n",
                                    encoding="utf-8")
    toml = (paper / "ocsol.toml").read_text(encoding="utf-8").replace("[ocsge.vintages]",
                                                                       '[ocsge]\nrule = "rule.csv"\n[ocsge.vintages]')
    (paper / "ocsol.toml").write_text(toml, encoding="utf-8")
    res = ocsol.compute(paper / "ocsol.toml")
    for name in TABLES:
        assert set(res[name]["measure"]) == {"custom_rule"}, name


@pytest.mark.slow
def test_ocsge_and_raster_in_one_config_keep_both(paper: Path, tmp_path: Path) -> None:
    _rasters(paper)
    only_ocsge = ocsol.compute(paper / "ocsol.toml")
    base = (paper / "ocsol.toml").read_text(encoding="utf-8")
    (paper / "both.toml").write_text(base + RASTER, encoding="utf-8")
    (paper / "raster.toml").write_text(base.split("[ocsge.vintages]")[0] + RASTER, encoding="utf-8")
    both = ocsol.compute(paper / "both.toml")
    only_raster = ocsol.compute(paper / "raster.toml")
    for name in TABLES:
        df = both[name]
        assert set(df["measure"]) == {"decret_matrix", "raster_proxy"}, name
        for measure, alone in (("decret_matrix", only_ocsge[name]), ("raster_proxy", only_raster[name])):
            part = df[df["measure"] == measure].drop(columns=["source"], errors="ignore").reset_index(drop=True)
            alone = alone.drop(columns=["source"], errors="ignore").reset_index(drop=True)
            extra = [c for c in part.columns if c not in alone.columns]  # the other measure's own columns
            assert part[extra].isna().all().all(), (name, measure, extra)
            pd.testing.assert_frame_equal(part[list(alone.columns)], alone, check_dtype=False)
    # raster figures counted by hand: B is 5 000 m² built in 2020; 2 500 m² more in each commune by 2021
    ss = both["stock_summary"].set_index(["level", "code", "measure", "vintage"])
    assert ss.loc[("commune", "00002", "raster_proxy", 2020), "artif_ha"] == 0.5
    fl = both["flows"].set_index(["level", "code", "measure"])
    assert fl.loc[("commune", "00001", "raster_proxy"), "artif_ha"] == 0.25
    assert fl.loc[("epci", "E", "raster_proxy"), "artif_ha"] == 0.5
    # one key per row
    assert not ss.index.duplicated().any()
    # a headline view keeps the OCS GE measure only
    assert set(headline_measure(both["stock_summary"])["measure"]) == {"decret_matrix"}
    out = tmp_path / "out"
    ocsol.write_results(both, out)
    back = pd.read_csv(out / "flows.csv", dtype={"code": str})
    assert list(back.columns[:3]) == ["level", "code", "measure"] and len(back) == len(both["flows"])
    # a report shows both measures side by side, each worded by its measure; its key figures and
    # class breakdowns are the OCS GE one's, never the two summed
    from ocsol.report import build_context
    from ocsol.report.loader import load_indicators

    ind = load_indicators(out)
    assert set(ind.slice("flows", "epci", "E")["measure"]) == {"decret_matrix", "raster_proxy"}
    assert len(ind.slice("stock_summary", "commune", "00001")) == 4  # two vintages, two measures
    for detail in ("stock", "transitions", "land_account"):
        assert set(ind.slice(detail, "epci", "E")["measure"]) == {"decret_matrix"}, detail
    ctx = build_context("E", "epci", indicators=str(out))
    assert ctx.measures == ["decret_matrix", "raster_proxy"] and ctx.headline["artif_measure"] == "decret_matrix"
    assert ctx.profile != "occupation_sol"  # OCS GE too: not a raster-only territory
    text = ctx.texts["artificialisation"]
    assert text.index("seuils non appliqués (valeurs indicatives)") < text.index("indicateur approché")
    side = ctx.views["mesures"]
    assert side["Chiffres clés"].tolist() == [True, False]
    assert abs(side["Solde artif. (ha)"].iloc[1] - 0.5) < 1e-9  # the raster's own flow, not added in
