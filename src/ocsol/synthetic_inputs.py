"""Generated **input files** (not tables) for tests, benchmarks and offline demos of the reports.

:func:`write_synthetic_inputs` writes what a user would give ocsol — communes, two OCS GE
vintages (:func:`ocsol.synthetic.generate_ocsge`), a Cerema consumption file, a population
table, a perimeters table and an ``ocsol.toml`` flagged ``synthetic`` — so that tests and the
report benchmark run the real pipeline on them: a renamed column breaks them.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .io.write import write_text
from .synthetic import generate_ocsge

DESTINATION_CODES = ("hab", "act", "mix", "rou", "fer", "inc")


def write_synthetic_inputs(
    folder: str | os.PathLike[str],
    *,
    n_communes: int = 4,
    n_epci: int = 1,
    seed: int = 0,
    first_year: int = 2011,
    last_year: int = 2023,
    polygons_per_commune: int = 40,
    side_m: float = 2000.0,
    rnu: list[str] | None = None,
) -> Path:
    """Write synthetic input files and their ``ocsol.toml``; return the configuration path.

    Communes ``99001``… are squares of ``side_m`` on a row, grouped in ``n_epci`` EPCI
    (``999000001``…) of département ``99``; the département's perimeter says it has twice as
    many communes (a partial parent). Areas in the consumption file are in m², like Cerema's.
    Communes listed in ``rnu`` are declared under the règlement national d'urbanisme: the
    config gives them the ``rnu_ddt`` report profile (``[report].profiles``).

    Examples
    --------
    >>> import tempfile
    >>> cfg = write_synthetic_inputs(tempfile.mkdtemp(), n_communes=3)
    >>> cfg.name
    'ocsol.toml'
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    codes = [f"99{i:03d}" for i in range(1, n_communes + 1)]
    epci = [f"99900{(i * n_epci) // n_communes + 1:04d}" for i in range(n_communes)]
    communes = gpd.GeoDataFrame(
        {"CODE_INSEE": codes, "NOM": [f"Commune synthétique {i}" for i in range(1, n_communes + 1)],
         "SIREN_EPCI": epci, "NOM_EPCI": [f"CC synthétique {e[-1]}" for e in epci], "DEP": "99"},
        geometry=[shapely.box(i * side_m, 0, (i + 1) * side_m, side_m) for i in range(n_communes)],
        crs="EPSG:2154")
    communes.to_file(out / "communes.gpkg", driver="GPKG", engine="pyogrio")
    layers = generate_ocsge(communes, n_polygons=max(10, polygons_per_commune * n_communes), seed=seed,
                            vintages=(2019, 2022))
    for year, layer in layers.items():
        layer.to_file(out / f"ocsge_{year}.gpkg", driver="GPKG", engine="pyogrio")
    cols: dict[str, list] = {"idcom": codes, "idcomtxt": list(communes["NOM"])}
    for y in range(first_year, last_year + 1):
        a, b = y % 100, (y + 1) % 100
        parts = rng.dirichlet(np.ones(6), size=n_communes) * rng.uniform(2_000, 60_000, size=(n_communes, 1))
        parts = np.round(parts)
        for k, d in enumerate(DESTINATION_CODES):
            cols[f"art{a:02d}{d}{b:02d}"] = parts[:, k].tolist()
        cols[f"naf{a:02d}art{b:02d}"] = parts.sum(axis=1).tolist()
    pd.DataFrame(cols).to_csv(out / "consommation.csv", index=False)
    pop = [(c, y, int(1000 + 400 * i + 15 * (y - first_year) * (1 if i % 2 == 0 else -1)))
           for i, c in enumerate(codes) for y in range(first_year, last_year + 1)]
    pd.DataFrame(pop, columns=["insee_com", "year", "population"]).to_csv(out / "population.csv", index=False)
    perim = [("dep", "99", 2 * n_communes, "synthétique")] + [("epci", e, epci.count(e), "synthétique")
                                                             for e in sorted(set(epci))]
    pd.DataFrame(perim, columns=["level", "code", "n_communes", "cog"]).to_csv(out / "perimetres.csv", index=False)
    config = out / "ocsol.toml"
    write_text(f'''# SYNTHETIC inputs written by ocsol.synthetic_inputs.write_synthetic_inputs (seed {seed}).
title = "Échantillon synthétique"
crs = "EPSG:2154"

[territories]
path = "communes.gpkg"
code = "CODE_INSEE"
name = "NOM"
levels = {{ epci = "SIREN_EPCI", dep = "DEP" }}
names = {{ epci = "NOM_EPCI" }}
perimeters = "perimetres.csv"
synthetic = true

[ocsge]
rule = "decret-2023"
synthetic = true

[ocsge.vintages]
2019 = "ocsge_2019.gpkg"
2022 = "ocsge_2022.gpkg"

[consumption]
path = "consommation.csv"
code = "idcom"

[population]
path = "population.csv"
code = "insee_com"

[report]
year = 2027
period = [2024, 2026]
texts = "textes/{{level}}-{{code}}.md"
profiles = {{ {", ".join(f'"commune:{c}" = "rnu_ddt"' for c in (rnu or []))} }}
''', config)
    (out / "textes").mkdir(exist_ok=True)
    write_text("# raisons\nLa zone d'activités des Grands Champs (12 ha, 2022) explique l'essentiel de la "
               "consommation récente.\n\n# renaturation\nAucune opération de renaturation.\n",
               out / "textes" / f"commune-{codes[0]}.md")
    return config
