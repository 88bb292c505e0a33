"""Population and households from the tables as published: Cerema's popYY/menYY/empYY (years)
next to its change columns (pop1521: a change, never the year 1521), INSEE's séries historiques
(P21_POP, D99_POP) in an XLSX or CSV with title lines above the header, any sheet; efficiency
periods clipped to the data, never inverted."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ocsol.cli import main
from ocsol.io.cerema import read_population

ROOT = Path(__file__).resolve().parents[1]
LYON = ROOT / "data" / "lyon"
TITLE = ["Séries historiques sur la population et le logement en 2021", "Recensement de la population",
         "Exploitations principales", "Géographie au 01/01/2023", ""]


def _pmun() -> pd.DataFrame:
    return pd.read_csv(LYON / "population_communes_2009_2023.csv", dtype={"insee_com": str})


def _cerema_pop(folder: Path) -> Path:
    p = _pmun()
    df = pd.DataFrame({"idcom": p["insee_com"], "pop15": p["pmun2015"], "pop21": p["pmun2021"],
                       "pop1521": p["pmun2021"] - p["pmun2015"],
                       "men15": (p["pmun2015"] / 2.1).round(), "men21": (p["pmun2021"] / 2.1).round(),
                       "men1521": (p["pmun2021"] / 2.1).round() - (p["pmun2015"] / 2.1).round(),
                       "emp15": (p["pmun2015"] / 3).round(), "emp21": (p["pmun2021"] / 3).round()})
    df.to_csv(folder / "cerema_pop.csv", index=False)
    return folder / "cerema_pop.csv"


def _insee_historique(folder: Path, suffix: str) -> Path:
    p = _pmun()
    table = pd.DataFrame({"CODGEO": p["insee_com"], "REG": "84", "DEP": "69", "LIBGEO": "x",
                          "P21_POP": p["pmun2021"], "P15_POP": p["pmun2015"], "P10_POP": p["pmun2010"],
                          "D99_POP": p["pmun2009"] - 100})
    if suffix == ".xlsx":
        path = folder / "base-cc-serie-historique-2021.xlsx"
        with pd.ExcelWriter(path) as xl:
            pd.DataFrame({"Documentation": ["Variables", "P21_POP : population en 2021"]}).to_excel(
                xl, sheet_name="Documentation", index=False)
            pd.DataFrame([[t] for t in TITLE]).to_excel(xl, sheet_name="COM_2021", index=False, header=False)
            table.to_excel(xl, sheet_name="COM_2021", index=False, startrow=len(TITLE))
        return path
    path = folder / "base-cc-serie-historique-2021.csv"
    lines = [*TITLE, ";".join(table.columns)] + [";".join(map(str, r)) for r in table.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cerema_change_columns_are_changes_not_years(tmp_path: Path) -> None:
    path = _cerema_pop(tmp_path)
    pop = read_population(path)
    assert sorted(pop["year"].unique()) == [2015, 2021]
    men = read_population(path, what="households")
    assert sorted(men["year"].unique()) == [2015, 2021]
    emp = read_population(path, what="jobs")
    expected = (_pmun().set_index("insee_com")["pmun2021"] / 3).round()
    got = emp[emp["year"] == 2021].set_index("code")["jobs"]
    assert got.sort_index().tolist() == expected.sort_index().astype(float).tolist()
    assert got.sort_index().index.tolist() == expected.sort_index().index.tolist()


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_insee_table_with_title_rows(tmp_path: Path, suffix: str) -> None:
    path = _insee_historique(tmp_path, suffix)
    pop = read_population(path)  # header line and sheet found
    assert sorted(pop["year"].unique()) == [1999, 2010, 2015, 2021]
    ref = _pmun().set_index("insee_com")
    got = pop[pop["year"] == 2015].set_index("code")["population"]
    assert got.sort_index().tolist() == ref["pmun2015"].sort_index().astype(float).tolist()
    explicit = read_population(path, header_row=len(TITLE) + 1, sheet="COM_2021" if suffix == ".xlsx" else None,
                               code="CODGEO")
    pd.testing.assert_frame_equal(explicit, pop)


def _lyon_config(folder: Path, population: Path, extra: str = "") -> Path:
    toml = (LYON / "ocsol.toml").read_text(encoding="utf-8")
    for name in ("communes_metropole_lyon.csv", "conso_communes_cerema_format.csv"):
        toml = toml.replace(f'"{name}"', f'"{(LYON / name).as_posix()}"')
    toml = re.sub(r'path = "population_communes_2009_2023.csv"', f'path = "{population.name}"', toml)
    toml = toml.replace('code = "insee_com"\n\n[zan]', 'code = "idcom"\n\n[zan]' if "cerema" in population.name
                        else '\n[zan]')
    (folder / "ocsol.toml").write_text(toml + extra, encoding="utf-8")
    return folder / "ocsol.toml"


@pytest.mark.slow
def test_efficiency_periods_clipped_to_census_years_never_inverted(tmp_path: Path) -> None:
    pop = _cerema_pop(tmp_path)
    cfg = _lyon_config(tmp_path, pop, '\n[households]\npath = "cerema_pop.csv"\n')
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(cfg), "-o", str(out), "-q"]) == 0
    eff = pd.read_csv(out / "efficiency.csv", dtype={"code": str})
    assert (eff["period_end"] >= eff["period_start"]).all()
    epci = eff[(eff["level"] == "epci")].set_index(["period_start", "period_end"])
    # reference decade 2011–2020 → 2015–2020 (population at 1/1/2015 and 1/1/2021)
    row = epci.loc[(2015, 2020)]
    p = _pmun()
    assert row["population_start"] == p["pmun2015"].sum() and row["population_end"] == p["pmun2021"].sum()
    conso = pd.read_csv(LYON / "conso_communes_cerema_format.csv")
    expected_ha = conso[[f"naf{y:02d}art{y + 1:02d}" for y in range(15, 21)]].to_numpy().sum() / 1e4
    assert row["consumption_ha"] == pytest.approx(expected_ha)
    assert "clipped to 2015–2020" in row["note"]
    # current period 2021–2030: no population after 2021 → the period as asked, empty, with the reason
    cur = epci.loc[(2021, 2030)]
    assert pd.isna(cur["m2_per_new_inhabitant"]) and "no consumption and population data" in cur["note"]
    assert "households_jobs_per_ha" in eff.columns


@pytest.mark.slow
def test_insee_xlsx_through_the_pipeline(tmp_path: Path) -> None:
    path = _insee_historique(tmp_path, ".xlsx")
    cfg = _lyon_config(tmp_path, path)
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(cfg), "-o", str(out), "-q"]) == 0
    eff = pd.read_csv(out / "efficiency.csv", dtype={"code": str})
    row = eff[eff["level"] == "epci"].set_index(["period_start", "period_end"]).loc[(2015, 2020)]
    assert row["population_start"] == _pmun()["pmun2015"].sum()
