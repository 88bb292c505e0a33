"""OCS GE inputs per département, computed as Dask tasks: same tables as one process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ocsol.cli import main
from ocsol.config import load_config
from ocsol.errors import ConfigError, InputFileError
from ocsol.pipeline import compute, write_results
from ocsol.synthetic import generate_ocsge

pytestmark = pytest.mark.slow  # Dask clusters and per-département layers

TABLES = ["stock_summary", "stock", "flows", "transitions", "land_account", "territories"]


@pytest.fixture(scope="module")
def two_deps(tmp_path_factory) -> Path:
    """Six 1 km² communes in départements 33 and 40; EPCI X spans both (33003 + 40001).

    Each département has its own synthetic OCS GE files for 2019 and 2022, like IGN's deliveries.
    """
    d = tmp_path_factory.mktemp("deps")
    codes = ["33001", "33002", "33003", "40001", "40002", "40003"]
    communes = gpd.GeoDataFrame(
        {"CODE_INSEE": codes, "NOM": codes, "EPCI": ["A", "A", "X", "X", "B", "B"]},
        geometry=[shapely.box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(6)], crs="EPSG:2154",
    )
    communes.to_file(d / "communes.gpkg")
    for k, dep in enumerate(["33", "40"]):
        layers = generate_ocsge(communes[communes["CODE_INSEE"].str.startswith(dep)], n_polygons=40,
                                seed=k, vertices=(8, 16))
        for year, layer in layers.items():
            layer.to_file(d / f"ocsge_{dep}_{year}.gpkg")
    for year in (2019, 2022):  # the same polygons in one file per vintage, for the reference run
        one = pd.concat([gpd.read_file(d / f"ocsge_{dep}_{year}.gpkg") for dep in ("33", "40")], ignore_index=True)
        gpd.GeoDataFrame(one, crs="EPSG:2154").to_file(d / f"ocsge_all_{year}.gpkg")
    head = '[territories]\npath = "communes.gpkg"\ncode = "CODE_INSEE"\nname = "NOM"\nlevels = { epci = "EPCI" }\n'
    (d / "deps.toml").write_text(head + '[ocsge]\ndepartements = ["33", "40"]\n[ocsge.vintages]\n'
                                 '2019 = "ocsge_{dep}_2019.gpkg"\n2022 = "ocsge_{dep}_2022.gpkg"\n', encoding="utf-8")
    (d / "table.csv").write_text("departement,2019,2022\n33,ocsge_33_2019.gpkg,ocsge_33_2022.gpkg\n"
                                 "40,ocsge_40_2019.gpkg,ocsge_40_2022.gpkg\n", encoding="utf-8")
    (d / "table.toml").write_text(head + '[ocsge]\ndepartements = "table.csv"\n', encoding="utf-8")
    (d / "one.toml").write_text(head + '[ocsge.vintages]\n2019 = "ocsge_all_2019.gpkg"\n'
                                '2022 = "ocsge_all_2022.gpkg"\n', encoding="utf-8")
    return d


def _csvs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv")) if p.name != "provenance.csv"}


def test_dask_tables_identical_to_sequential(two_deps, tmp_path):
    from dask.distributed import Client, LocalCluster

    seq = compute(two_deps / "deps.toml", workers=0)
    write_results(seq, tmp_path / "seq")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        par = compute(two_deps / "deps.toml", scheduler=cluster.scheduler_address)
        write_results(par, tmp_path / "par")
        tab = compute(two_deps / "table.toml", client=client)
        write_results(tab, tmp_path / "tab")
        cfg = load_config(two_deps / "deps.toml")
        missing = replace(cfg, ocsge=replace(cfg.ocsge, departements=["33", "40", "64"]))  # no file for 64
        with pytest.raises(InputFileError, match="ocsge_64_2019"):
            compute(missing, client=client)
    a, b, c = _csvs(tmp_path / "seq"), _csvs(tmp_path / "par"), _csvs(tmp_path / "tab")
    assert set(TABLES) <= {n.removesuffix(".csv") for n in a}
    assert a == b  # byte-identical on the cluster
    assert a == c  # a table of départements = the {dep} pattern
    prov = pd.read_csv(tmp_path / "par" / "provenance.csv")
    assert {Path(p).name for p in prov["path"]} >= {f"ocsge_{d}_{y}.gpkg" for d in ("33", "40") for y in (2019, 2022)}


def test_departements_add_up_like_one_layer(two_deps):
    """Independent check of the merge: one file holding both départements' polygons gives the
    same figures, including EPCI X whose communes lie in both départements."""
    seq = compute(two_deps / "deps.toml", workers=0)
    one = compute(two_deps / "one.toml")
    for name, keys in (("stock_summary", ["level", "code", "vintage"]),
                       ("flows", ["level", "code", "vintage_from", "vintage_to"]),
                       ("stock", ["level", "code", "vintage", "cs", "us"])):
        x = seq[name].sort_values(keys).reset_index(drop=True)
        y = one[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-9, atol=1e-9)
    ss = seq["stock_summary"]
    x = ss[(ss["level"] == "epci") & (ss["code"] == "X") & (ss["vintage"] == 2019)].iloc[0]
    assert x["area_ha"] == pytest.approx(200.0)  # 33003 + 40001, one in each département
    assert x["covered_ha"] == pytest.approx(200.0, rel=1e-9)


def test_dep_pattern_without_departements_is_an_error(two_deps, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    text = (two_deps / "deps.toml").read_text(encoding="utf-8").replace('departements = ["33", "40"]\n', "")
    cfg.write_text(text.replace('path = "communes.gpkg"', f'path = "{two_deps / "communes.gpkg"}"'),
                   encoding="utf-8")
    assert main(["indicators", "-q", "--config", str(cfg), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "{dep}" in capsys.readouterr().err
    good = load_config(two_deps / "deps.toml")
    bad = replace(good, ocsge=replace(good.ocsge, departements=["33", "4O"]))
    with pytest.raises(ConfigError, match="4O"):
        compute(bad, workers=0)


def test_batch_reports_on_dask(two_deps, tmp_path):
    """Reports as Dask tasks (one kernel per worker, closed with it): written and listed."""
    from dask.distributed import Client, LocalCluster

    from ocsol.report.batch import batch_reports
    from ocsol.report.loader import compute_indicators

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        ind = compute_indicators(two_deps / "deps.toml", tmp_path / "ind", client=client)
        res = batch_reports([("epci", "X")], indicators=ind, out=tmp_path / "rep", client=client, progress=False)
    assert [(r.code, r.ok) for r in res.results] == [("X", True)], res.results[0].error
    assert (res.results[0].folder / "index.html").is_file() or any(res.results[0].folder.glob("*.html"))
    assert res.jobs == 1 and res.index is not None and res.index.is_file()


def test_out_folder_holding_a_departement_file_is_refused(two_deps, tmp_path, capsys):
    """The per-département files count as inputs: an --out over them alone is refused (exit 2)."""
    import shutil

    d = tmp_path / "d"
    d.mkdir()
    for f in two_deps.glob("ocsge_[0-9]*_*.gpkg"):
        shutil.copy(f, d / f.name)
    cfg = tmp_path / "deps.toml"
    cfg.write_text((two_deps / "deps.toml").read_text(encoding="utf-8")
                   .replace('path = "communes.gpkg"', f'path = "{two_deps / "communes.gpkg"}"')
                   .replace('"ocsge_{dep}', '"d/ocsge_{dep}'), encoding="utf-8")
    before = (d / "ocsge_40_2022.gpkg").read_bytes()
    assert main(["indicators", "-q", "--config", str(cfg), "--out", str(d), "--workers", "0"]) == 2
    assert "ocsge_" in capsys.readouterr().err
    assert (d / "ocsge_40_2022.gpkg").read_bytes() == before


def test_thresholds_and_fragmentation_with_departements(two_deps, tmp_path):
    """Per-département inputs: each département is thresholded on its own (as IGN does), so its
    communes get the decret_thresholds figures of a run on its file alone; fragmentation is that
    of the départements' layers put together (the same as one file holding them)."""
    extra = '\n[ocsge.thresholds]\n\n[fragmentation]\nbarrier = "both"\n'
    for name in ("deps", "one"):
        text = (two_deps / f"{name}.toml").read_text(encoding="utf-8")
        (two_deps / f"{name}_tf.toml").write_text(text + extra, encoding="utf-8")
    for dep in ("33", "40"):
        text = (two_deps / "one.toml").read_text(encoding="utf-8").replace("ocsge_all_", f"ocsge_{dep}_")
        (two_deps / f"only{dep}.toml").write_text(text + "\n[ocsge.thresholds]\n", encoding="utf-8")
    deps = compute(two_deps / "deps_tf.toml", workers=0).tables
    one = compute(two_deps / "one_tf.toml").tables
    thr = deps["stock_summary"][deps["stock_summary"]["measure"] == "decret_thresholds"]
    assert len(thr)
    for dep in ("33", "40"):
        alone = compute(two_deps / f"only{dep}.toml").tables["stock_summary"]
        want = alone[(alone["measure"] == "decret_thresholds") & (alone["level"] == "commune")
                     & alone["code"].str.startswith(dep)].reset_index(drop=True)
        got = thr[(thr["level"] == "commune") & thr["code"].str.startswith(dep)].reset_index(drop=True)
        assert len(got) == 6
        pd.testing.assert_frame_equal(got[want.columns], want)
    frag = deps["fragmentation"][deps["fragmentation"]["barrier"] == "matrix"].reset_index(drop=True)
    ref = one["fragmentation"][one["fragmentation"]["barrier"] == "matrix"].reset_index(drop=True)
    pd.testing.assert_frame_equal(frag, ref)
    assert set(deps["fragmentation"]["barrier"]) == {"matrix", "thresholds"}
