"""Build the Centre-Val de Loire sample: CA de Blois « Agglopolys » and two SYNTHETIC OCS GE vintages.

Run from anywhere (deterministic, same output every time)::

    python data/cvl/make_sample.py

Inputs (copied unchanged from ``../shared/data/centre_val_de_loire``, Licence Ouverte):

- ``communes-centre-val-de-loire.geojson``: commune boundaries, COG 2018, EPSG:4326, simplified
  (gregoiredavid/france-geojson, derived from IGN ADMIN EXPRESS);
- ``communes_cvl_cog2026_epci_population.csv``: COG 2026 communes with their EPCI (etalab
  decoupage-administratif);
- ``epci_cvl_2026.csv``: EPCI and their members (same source).

Outputs (in this folder):

- ``communes_blois.gpkg``: the communes of CA de Blois « Agglopolys » (SIREN 200030385), EPSG:2154,
  columns CODE_INSEE, NOM, SIREN_EPCI, NOM_EPCI, DEP;
- ``ocsge_synth_2019.gpkg``, ``ocsge_synth_2022.gpkg``: **synthetic** OCS GE vintages made by
  :func:`ocsol.synthetic.generate_ocsge` over those communes. They are not IGN data and describe no
  real land cover; they exist so that the full-vintage path of ocsol can be run and tested;
- ``ocsol.toml``: the configuration of the sample.

Commune-code reconciliation: the geometries are COG 2018, the EPCI membership COG 2026. We keep the
2018 communes whose code is in the EPCI's 2026 member list. For Agglopolys all 43 members of 2026
have a 2018 geometry with the same code (the mergers Valloire-sur-Cisse 41055, Valencisse 41142 and
Veuzain-sur-Loire 41167 predate 2018), so nothing is left out. The script reports any member without
a geometry and any 2018 code that no longer exists, should the EPCI be changed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ocsol.synthetic import generate_ocsge

HERE = Path(__file__).resolve().parent
EPCI = "200030385"  # CA de Blois « Agglopolys »
N_POLYGONS = 9_000  # per vintage: keeps the two GeoPackages under ~8 MB together
VERTICES = (8, 18)  # fewer vertices than the benchmark (20–60), for file size
SEED = 41018  # INSEE code of Blois
VINTAGES = (2019, 2022)

CONFIG = """\
# ocsol sample: CA de Blois « Agglopolys » (Loir-et-Cher).
# The OCS GE vintages below are SYNTHETIC (ocsol.synthetic.generate_ocsge, seed {seed}):
# real commune boundaries, invented land cover. Rebuild with: python data/cvl/make_sample.py
title = "CA de Blois (Agglopolys) — OCS GE synthétique"
crs = "EPSG:2154"

[territories]
path = "communes_blois.gpkg"
code = "CODE_INSEE"
name = "NOM"
levels = {{ epci = "SIREN_EPCI", dep = "DEP" }}
names = {{ epci = "NOM_EPCI" }}

[ocsge]
rule = "decret-2023"
synthetic = true  # banner on every report

[ocsge.vintages]
2019 = "ocsge_synth_2019.gpkg"
2022 = "ocsge_synth_2022.gpkg"
"""


def main() -> int:
    communes = gpd.read_file(HERE / "communes-centre-val-de-loire.geojson")
    cog = pd.read_csv(HERE / "communes_cvl_cog2026_epci_population.csv", dtype=str)
    epci = pd.read_csv(HERE / "epci_cvl_2026.csv", dtype=str)

    row = epci.loc[epci["epci_siren"] == EPCI].iloc[0]
    members = set(row["membres"].split())
    in_cog = set(cog.loc[cog["epci_siren"] == EPCI, "insee_com"])
    if members != in_cog:
        print(f"warning: EPCI members differ between the two tables: {sorted(members ^ in_cog)}")
    missing = sorted(members - set(communes["code"]))
    gone = sorted(set(communes["code"]) - set(cog["insee_com"]))
    sel = communes.loc[communes["code"].isin(members)].sort_values("code")
    print(f"{row['nom']}: {len(members)} members in COG 2026, {len(sel)} with a 2018 geometry")
    if missing:
        print(f"  members without a 2018 geometry (left out): {missing}")
    print(f"  2018 codes of the region absent from COG 2026 (not in this EPCI): {len(gone)}")

    nom_epci = re.sub(r"''(.*?)''", r"« \1 »", row["nom"])  # CA de Blois ''Agglopolys
    out = gpd.GeoDataFrame(
        {
            "CODE_INSEE": sel["code"].to_numpy(),
            "NOM": sel["nom"].to_numpy(),
            "SIREN_EPCI": EPCI,
            "NOM_EPCI": nom_epci,
            "DEP": sel["code"].str[:2].to_numpy(),
        },
        geometry=sel.geometry.to_numpy(),
        crs=sel.crs,
    ).to_crs("EPSG:2154")
    _write(out, HERE / "communes_blois.gpkg", "communes_blois")

    layers = generate_ocsge(
        out, n_polygons=N_POLYGONS, vintages=VINTAGES, seed=SEED, vertices=VERTICES
    )
    for year, layer in layers.items():
        path = HERE / f"ocsge_synth_{year}.gpkg"
        _write(layer, path, f"ocsge_synthetic_{year}")
        print(f"  {path.name}: {len(layer)} synthetic polygons, {path.stat().st_size / 1e6:.1f} MB")
    (HERE / "ocsol.toml").write_text(CONFIG.format(seed=SEED), encoding="utf-8")
    return 0


def _write(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    path.unlink(missing_ok=True)
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


if __name__ == "__main__":
    sys.exit(main())
