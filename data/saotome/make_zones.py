"""Build the deterministic demo zones over the WorldCover São Tomé city crop.

A 2 × 2 grid of "communes" covering the city crop (0.06° × 0.06°, around São Tomé city),
grouped two by two into a parent level ``district`` (west / east), written in UTM 32N
(EPSG:32632) so that the raster engine has to reproject them to the raster's EPSG:4326.
The zones are synthetic (not real administrative boundaries). Run: ``python make_zones.py``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).parent
# Bounds of worldcover_20xx_saotome_city.tif (EPSG:4326), kept slightly inside its edges.
WEST, SOUTH, EAST, NORTH = 6.69, 0.30, 6.75, 0.36
NX = NY = 2


def main() -> None:
    dx, dy = (EAST - WEST) / NX, (NORTH - SOUTH) / NY
    rows = []
    for j in range(NY):  # north to south
        for i in range(NX):  # west to east
            west, north = WEST + i * dx, NORTH - j * dy
            box = shapely.box(west, north - dy, west + dx, north)
            # densify so the edges stay straight in lon/lat after the round trip through UTM
            box = shapely.segmentize(box, dx / 50)
            code = f"ST{j * NX + i + 1:03d}"
            rows.append({
                "code": code,
                "nom": f"Zone {'NS'[j]}{'OE'[i]}",
                "district": "ST-W" if i == 0 else "ST-E",
                "district_nom": "Ouest" if i == 0 else "Est",
                "geometry": box,
            })
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs("EPSG:32632")
    out = HERE / "zones.gpkg"
    out.unlink(missing_ok=True)
    gdf.to_file(out, layer="zones", driver="GPKG", engine="pyogrio")
    print(f"wrote {out} ({len(gdf)} zones)")


if __name__ == "__main__":
    main()
