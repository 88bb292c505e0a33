"""Build data/sample/communes.gpkg: the communes of the three bundled territories in one layer.

- Métropole de Lyon: 58 communes (COG 2024) — geometry from the Rhône commune boundaries
  (COG 2018, simplified) with Oullins (69149) and Pierre-Bénite (69152) dissolved into the
  commune nouvelle Oullins-Pierre-Bénite (69149, 2024); official areas from the Lyon table.
- Bassin d'Arcachon et Val de Leyre: 17 communes, 3 EPCI, 1 SCoT (real IGN-derived layer).
- One EPCI around Blois (Centre-Val de Loire), from ../cvl/communes_blois.gpkg.

Deterministic: run `python data/sample/make_sample.py` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
COLUMNS = ["CODE_INSEE", "NOM", "SIREN_EPCI", "NOM_EPCI", "SCOT", "DEP", "surface_ha", "geometry"]


def lyon() -> gpd.GeoDataFrame:
    table = pd.read_csv(DATA / "lyon" / "communes_metropole_lyon.csv", dtype=str)
    rhone = gpd.read_file(DATA / "lyon" / "communes-69-rhone.geojson").to_crs(2154)
    rhone["code"] = rhone["code"].replace({"69152": "69149"})  # Pierre-Bénite → Oullins-Pierre-Bénite (2024)
    shapes = rhone.dissolve(by="code", as_index=False)[["code", "geometry"]]
    out = table.merge(shapes, left_on="insee_com", right_on="code", how="left", validate="one_to_one")
    missing = out["geometry"].isna()
    if missing.any():
        raise SystemExit(f"no geometry for {out.loc[missing, 'insee_com'].tolist()}")
    return gpd.GeoDataFrame(
        {
            "CODE_INSEE": out["insee_com"], "NOM": out["nom"], "SIREN_EPCI": out["epci_siren"],
            "NOM_EPCI": out["epci_nom"], "SCOT": "SCOT de l'agglomération lyonnaise", "DEP": out["dep"],
            "surface_ha": out["surface_ha"].astype(float),
        },
        geometry=out["geometry"].to_numpy(), crs=2154,
    )


def arcachon() -> gpd.GeoDataFrame:
    c = gpd.read_file(DATA / "arcachon" / "communes_sybarval.shp")
    return gpd.GeoDataFrame(
        {
            "CODE_INSEE": c["CODE_INSEE"].astype(str), "NOM": c["NOM"], "SIREN_EPCI": c["SIREN_EPCI"].astype(str),
            "NOM_EPCI": c["NOM_EPCI"], "SCOT": c["NOM_SCOT"], "DEP": "33", "surface_ha": c.area / 1e4,
        },
        geometry=c.geometry.to_numpy(), crs=2154,
    )


def blois() -> gpd.GeoDataFrame:
    c = gpd.read_file(DATA / "cvl" / "communes_blois.gpkg").to_crs(2154)
    return gpd.GeoDataFrame(
        {
            "CODE_INSEE": c["CODE_INSEE"].astype(str), "NOM": c["NOM"], "SIREN_EPCI": c["SIREN_EPCI"].astype(str),
            "NOM_EPCI": c["NOM_EPCI"], "SCOT": None, "DEP": c["DEP"].astype(str), "surface_ha": c.area / 1e4,
        },
        geometry=c.geometry.to_numpy(), crs=2154,
    )


# INSEE legal-population vintages of the CVL table and the year each is taken to describe.
# The source does not state the years: they are inferred (data/README.md), hence a separate file.
CVL_POP_YEARS = {"pop_v1.1.1": 2019, "pop_v2.3.1": 2020, "pop_v4.1.0": 2022, "pop_v5.3.0": 2023}


def population(codes: set[str]) -> pd.DataFrame:
    """Long population table (insee_com, year, population): Lyon (INSEE PMUN) + Blois (CVL)."""
    lyon = pd.read_csv(DATA / "lyon" / "population_communes_2009_2023.csv", dtype={"insee_com": str})
    lyon = lyon.melt(id_vars="insee_com", var_name="year", value_name="population")
    lyon["year"] = lyon["year"].str.removeprefix("pmun").astype(int)
    cvl = pd.read_csv(DATA / "cvl" / "communes_cvl_cog2026_epci_population.csv", dtype={"insee_com": str})
    cvl = cvl[cvl["insee_com"].isin(codes)][["insee_com", *CVL_POP_YEARS]]
    cvl = cvl.melt(id_vars="insee_com", var_name="year", value_name="population")
    cvl["year"] = cvl["year"].map(CVL_POP_YEARS)
    out = pd.concat([lyon, cvl], ignore_index=True)
    out["population"] = out["population"].round().astype(int)
    return out.sort_values(["insee_com", "year"]).reset_index(drop=True)


def main() -> None:
    parts = [lyon(), arcachon(), blois()]
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=2154)[COLUMNS]
    out["surface_ha"] = out["surface_ha"].round(4)
    out = out.sort_values("CODE_INSEE").reset_index(drop=True)
    out.to_file(HERE / "communes.gpkg", layer="communes", driver="GPKG")
    print(f"wrote {HERE / 'communes.gpkg'}: {len(out)} communes")
    pop = population(set(blois()["CODE_INSEE"]))
    pop.to_csv(HERE / "population.csv", index=False, lineterminator="\n")
    print(f"wrote {HERE / 'population.csv'}: {len(pop)} rows")


if __name__ == "__main__":
    main()
