"""A deterministic, **synthetic** indicators folder, for tests, benchmarks and offline demos.

It has exactly the shape that :func:`ocsol.pipeline.write_results` writes (the tables of
``docs/ARCHITECTURE.md``) plus the optional extras the report reads (``territories.gpkg``,
``changes.gpkg``, ``provenance.json``, ``manifest.json``), so the report chain can be exercised
and timed without computing anything. Every number is invented: names say "synthétique".

Communes are rectangles on a grid in Lambert-93; ``n_epci`` groupings of consecutive communes.
Parents are sums of their communes, as in the real pipeline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plot

DESTINATIONS = list(plot.DESTINATIONS)
CLASSES = [  # cs, us, artif, imper
    ("CS1.1.1.1", "US5", True, True),
    ("CS1.1.1.2", "US4.1.1", True, True),
    ("CS1.1.2.1", "US235", True, False),
    ("CS2.2.1", "US5", True, False),
    ("CS2.2.1", "US1.1", False, False),
    ("CS2.1.1.1", "US1.2", False, False),
    ("CS1.2.2", "US6.3", False, False),
]


def write_synthetic_indicators(
    out_dir: str | os.PathLike[str],
    *,
    n_communes: int = 6,
    n_epci: int = 2,
    seed: int = 0,
    geometry: bool = True,
    first_year: int = 2009,
    last_year: int = 2023,
    vintages: tuple[int, int] = (2019, 2022),
) -> Path:
    """Write a synthetic indicators folder and return its path.

    Parameters
    ----------
    out_dir
        Folder to create (or overwrite files in).
    n_communes, n_epci
        How many communes, and how many EPCI groupings of consecutive communes.
    seed
        Random seed: equal arguments give byte-identical tables.
    geometry
        Also write ``communes.gpkg`` and ``changes.gpkg``.

    Examples
    --------
    >>> import tempfile
    >>> p = write_synthetic_indicators(tempfile.mkdtemp(), n_communes=3, n_epci=1, geometry=False)
    >>> sorted(x.name for x in p.glob("*.csv"))[:3]
    ['consumption.csv', 'efficiency.csv', 'flows.csv']
    """
    from ..io.write import write_csv, write_text

    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = [f"99{i:03d}" for i in range(1, n_communes + 1)]
    names = [f"Commune synthétique {i}" for i in range(1, n_communes + 1)]
    epci_of = [f"99900{(i * n_epci) // n_communes + 1:04d}" for i in range(n_communes)]
    width = 2000.0 + 500.0 * (np.arange(n_communes) % 3)
    height = np.full(n_communes, 2000.0)
    area_ha = width * height / 10_000
    membership = pd.DataFrame({"code": codes, "epci": epci_of})
    epci_codes = sorted(set(epci_of))

    def up(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
        """Communes then EPCI sums, as ``ocsol.territories.aggregate`` does."""
        com = df.copy()
        com.insert(0, "level", "commune")
        par = df.merge(membership, on="code").drop(columns="code").rename(columns={"epci": "code"})
        par = par.groupby(["code", *keys], sort=True)[values].sum().reset_index()
        par.insert(0, "level", "epci")
        return pd.concat([com, par[com.columns]], ignore_index=True)

    # territories
    terr = up(pd.DataFrame({"code": codes, "area_ha": area_ha, "n_communes": 1}), [], ["area_ha", "n_communes"])
    name_map = dict(zip(codes, names, strict=True)) | {c: f"CC synthétique {c[-1]}" for c in epci_codes}
    terr.insert(2, "name", terr["code"].map(name_map))

    # consumption (ha), flows labelled by the year they start
    years = np.arange(first_year, last_year + 1)
    rows = []
    for i, c in enumerate(codes):
        base = rng.uniform(0.2, 6.0) * (1 + i % 2)
        for y in years:
            parts = rng.dirichlet(np.ones(6)) * base * rng.uniform(0.4, 1.3)
            rows.append([c, int(y), *np.round(parts, 4)])
    cons = pd.DataFrame(rows, columns=["code", "year", *DESTINATIONS])
    cons["total_ha"] = cons[DESTINATIONS].sum(axis=1).round(4)
    cons = up(cons, ["year"], ["total_ha", *DESTINATIONS])
    cons = cons[["level", "code", "year", "total_ha", *DESTINATIONS]]
    cons["provisional"] = cons["year"] == last_year

    # zan
    zrows = []
    for (lvl, code), g in cons.groupby(["level", "code"], sort=False):
        g = g.set_index("year")
        ref = float(g.loc[2011:2020, "total_ha"].sum())
        allowed = ref * 0.5
        guarantee = lvl == "commune" and allowed < 1.0
        allowed = 1.0 if guarantee else allowed
        since = float(g.loc[2021:last_year, "total_ha"].sum())
        n = last_year - 2021 + 1
        pace = since / n
        projected = pace * 10
        exhaustion = int(2021 + np.floor(allowed / pace)) if pace > 0 else None
        reading = "exceeded" if since > allowed else ("will_exceed" if projected > allowed else "within")
        zrows.append([lvl, code, 2011, 2020, ref, 50.0, "national_default", allowed, guarantee, 2021, 2030,
                      since, n, pace, projected, since / allowed * 100, projected / allowed * 100,
                      exhaustion if exhaustion and exhaustion <= 2030 else None, "", reading, False, True])
    zan = pd.DataFrame(zrows, columns=[
        "level", "code", "reference_start", "reference_end", "reference_ha", "target_pct", "target_source",
        "allowed_ha", "guarantee_applied", "period_start", "period_end", "consumed_since_ha",
        "years_observed", "annual_pace_ha", "projected_ha", "used_pct", "projected_pct",
        "exhaustion_year", "status", "indicative_status", "binding", "complete"])
    zan["exhaustion_year"] = zan["exhaustion_year"].astype("Int64")

    # OCS GE stocks and transitions (communes, then summed)
    v0, v1 = vintages
    srows, trows = [], []
    for i, c in enumerate(codes):
        shares = rng.dirichlet(np.ones(len(CLASSES)) * 2)
        a0 = shares * area_ha[i]
        moved = np.zeros((len(CLASSES), len(CLASSES)))
        for k in range(len(CLASSES)):
            moved[k, k] = a0[k]
        for _ in range(3):  # a few changes, mostly towards artificial classes
            src = int(rng.integers(3, len(CLASSES)))
            dst = int(rng.integers(0, 4))
            amount = moved[src, src] * rng.uniform(0.01, 0.05)
            moved[src, src] -= amount
            moved[src, dst] += amount
        src, dst = 0, 5  # a little désartificialisation
        amount = moved[0, 0] * 0.005
        moved[0, 0] -= amount
        moved[0, 5] += amount
        a1 = moved.sum(axis=0)
        for vint, arr in ((v0, a0), (v1, a1)):
            for k, (cs, us, artif, imper) in enumerate(CLASSES):
                srows.append([c, vint, cs, us, artif, imper, round(float(arr[k]), 6)])
        for k0, (cs0, us0, _, _) in enumerate(CLASSES):
            for k1, (cs1, us1, _, _) in enumerate(CLASSES):
                if moved[k0, k1] > 0:
                    trows.append([c, v0, v1, cs0, us0, cs1, us1, round(float(moved[k0, k1]), 6)])
    stock = pd.DataFrame(srows, columns=["code", "vintage", "cs", "us", "artif", "imper", "area_ha"])
    stock = up(stock, ["vintage", "cs", "us", "artif", "imper"], ["area_ha"])
    from ..nomenclature import couverture, usage  # labels from the nomenclature tables

    cs_lab = couverture().set_index("code")["label"]
    us_lab = usage().set_index("code")["label"]
    stock["cs_label"] = stock["cs"].map(cs_lab)
    stock["us_label"] = stock["us"].map(us_lab)
    transitions = pd.DataFrame(trows, columns=["code", "vintage_from", "vintage_to", "cs_from", "us_from",
                                               "cs_to", "us_to", "area_ha"])
    transitions = up(transitions, ["vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to"],
                     ["area_ha"])
    g = stock.assign(a=stock["area_ha"] * stock["artif"], m=stock["area_ha"] * stock["imper"])
    summ = g.groupby(["level", "code", "vintage"], sort=False).agg(
        covered_ha=("area_ha", "sum"), artif_ha=("a", "sum"), imper_ha=("m", "sum")).reset_index()
    summ = summ.merge(terr[["level", "code", "area_ha"]], on=["level", "code"])
    summ["artif_pct"] = summ["artif_ha"] / summ["area_ha"] * 100
    summ["imper_pct"] = summ["imper_ha"] / summ["area_ha"] * 100
    summ = summ[["level", "code", "vintage", "area_ha", "covered_ha", "artif_ha", "artif_pct", "imper_ha",
                 "imper_pct"]]
    flag = {(cs, us): (a, m) for cs, us, a, m in CLASSES}
    t = transitions.copy()
    fa = t.apply(lambda r: flag[(r.cs_from, r.us_from)], axis=1, result_type="expand")
    ta = t.apply(lambda r: flag[(r.cs_to, r.us_to)], axis=1, result_type="expand")
    t["artif"] = t["area_ha"] * (~fa[0] & ta[0])
    t["desartif"] = t["area_ha"] * (fa[0] & ~ta[0])
    t["imper"] = t["area_ha"] * (~fa[1] & ta[1])
    t["desimper"] = t["area_ha"] * (fa[1] & ~ta[1])
    flows = t.groupby(["level", "code", "vintage_from", "vintage_to"], sort=False).agg(
        artif_ha=("artif", "sum"), desartif_ha=("desartif", "sum"), imper_ha=("imper", "sum"),
        desimper_ha=("desimper", "sum")).reset_index()
    flows["net_artif_ha"] = flows["artif_ha"] - flows["desartif_ha"]
    flows["net_imper_ha"] = flows["imper_ha"] - flows["desimper_ha"]
    flows = flows[["level", "code", "vintage_from", "vintage_to", "artif_ha", "desartif_ha", "net_artif_ha",
                   "imper_ha", "desimper_ha", "net_imper_ha"]]
    t["class_from"] = t["cs_from"] + " " + t["us_from"]
    t["class_to"] = t["cs_to"] + " " + t["us_to"]
    keys = ["level", "code", "vintage_from", "vintage_to"]
    opening = t.groupby([*keys, "class_from"])["area_ha"].sum().rename("opening_ha")
    closing = t.groupby([*keys, "class_to"])["area_ha"].sum().rename("closing_ha")
    off = t[t["class_from"] != t["class_to"]]
    red = off.groupby([*keys, "class_from"])["area_ha"].sum().rename("reductions_ha")
    add = off.groupby([*keys, "class_to"])["area_ha"].sum().rename("additions_ha")
    opening.index = opening.index.set_names([*keys, "class"])
    red.index = red.index.set_names([*keys, "class"])
    closing.index = closing.index.set_names([*keys, "class"])
    add.index = add.index.set_names([*keys, "class"])
    land = pd.concat([opening, add, red, closing], axis=1).fillna(0.0).reset_index()
    land = land[[*keys, "class", "opening_ha", "additions_ha", "reductions_ha", "closing_ha"]]

    # population and efficiency
    pop = pd.DataFrame({"code": codes, "p0": rng.integers(300, 20000, n_communes)})
    pop["p1"] = (pop["p0"] * rng.uniform(0.95, 1.12, n_communes)).round()
    popu = up(pop, [], ["p0", "p1"])
    ref_cons = zan.set_index(["level", "code"])["reference_ha"]
    erows = []
    for r in popu.itertuples():
        ch = float(ref_cons[(r.level, r.code)])
        growth = r.p1 - r.p0
        m2 = ch * 10_000 / growth if growth > 0 else None
        art = summ[(summ.level == r.level) & (summ.code == r.code)].set_index("vintage")["artif_ha"]
        lcr = float(np.log(art[v1] / art[v0]) / (v1 - v0))
        pgr = float(np.log(r.p1 / r.p0) / 10)
        note = "" if growth > 0 else "population en baisse : m² par nouvel habitant non défini"
        erows.append([r.level, r.code, 2011, 2020, ch, r.p0, r.p1, m2, lcr, pgr,
                      lcr / pgr if pgr > 0 else None, note])
    eff = pd.DataFrame(erows, columns=["level", "code", "period_start", "period_end", "consumption_ha",
                                       "population_start", "population_end", "m2_per_new_inhabitant",
                                       "lcr", "pgr", "lcrpgr", "note"])

    tables = {"territories": terr, "consumption": cons, "zan": zan, "stock_summary": summ, "stock": stock,
              "flows": flows, "transitions": transitions, "land_account": land, "efficiency": eff}
    for name, df in tables.items():
        write_csv(df, out / f"{name}.csv")
    write_csv(membership, out / "membership.csv")
    write_csv(pd.DataFrame([
        {"role": "consumption", "path": "synthetique/consommation.csv", "sha256": "0" * 64, "size": 1000,
         "modified": "2024-01-01"},
        {"role": f"ocsge {v0}", "path": f"synthetique/ocsge_{v0}.gpkg", "sha256": "1" * 64, "size": 2000,
         "modified": "2024-01-01"},
        {"role": f"ocsge {v1}", "path": f"synthetique/ocsge_{v1}.gpkg", "sha256": "2" * 64, "size": 2000,
         "modified": "2024-01-01"},
    ]), out / "provenance.csv")
    rule = pd.DataFrame([(cs, us, a, m, "", "synthétique", i + 1, "synthetique")
                         for i, (cs, us, a, m) in enumerate(CLASSES)],
                        columns=["cs", "us", "artif", "imper", "category", "note", "rule_row", "rule"])
    write_csv(rule, out / "rule.csv")
    write_csv(pd.DataFrame([{"topic": "synthetic", "item": "données générées", "count": n_communes,
                             "detail": "ocsol.report.synthetic"}]), out / "qa.csv")
    write_text(json.dumps({"synthetic": True, "rule": "synthetique", "title": "Échantillon synthétique",
                           "decades": [[2031, 2040, 50], [2041, 2050, 100]], "neighbours": 8},
                          indent=1, ensure_ascii=False), out / "manifest.json")
    if geometry:
        _write_geometry(out, codes, names, epci_of, width, height, rng, vintages)
    return out


def _write_geometry(out: Path, codes, names, epci_of, width, height, rng, vintages) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    x0, y0 = 570_000.0, 6_720_000.0
    ncol = max(1, int(np.ceil(np.sqrt(len(codes)))))
    polys, changes = [], []
    for i, _c in enumerate(codes):
        cx = x0 + (i % ncol) * 3000.0
        cy = y0 + (i // ncol) * 2100.0
        polys.append(box(cx, cy, cx + width[i], cy + height[i]))
        for k in range(4):
            px = cx + rng.uniform(100, width[i] - 300)
            py = cy + rng.uniform(100, height[i] - 300)
            s = rng.uniform(40, 180)
            art = k < 3
            changes.append({"code": codes[i], "vintage_from": vintages[0], "vintage_to": vintages[1],
                            "cs_from": "CS2.2.1" if art else "CS1.1.1.1", "us_from": "US1.1" if art else "US5",
                            "cs_to": "CS1.1.1.1" if art else "CS2.1.1.1", "us_to": "US5" if art else "US1.2",
                            "artif_from": not art, "artif_to": art, "imper_from": not art, "imper_to": art,
                            "geometry": box(px, py, px + s, py + s)})
    communes = gpd.GeoDataFrame({"code": codes, "name": names, "epci": epci_of}, geometry=polys,
                                crs="EPSG:2154")
    communes.to_file(out / "communes.gpkg", layer="communes", driver="GPKG", engine="pyogrio")
    gpd.GeoDataFrame(changes, crs="EPSG:2154").to_file(out / "changes.gpkg", layer="changes", driver="GPKG",
                                                        engine="pyogrio")
