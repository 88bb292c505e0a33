"""Benchmark of the OCS GE overlay engine at département scale, on SYNTHETIC full vintages.

Prints figures; not a test. Usage::

    python benchmarks/bench_ocsge.py [--n 1000000] [--n-overlay 200000] [--runs 3] [--dep 41]
                                     [--overlay-runs 3] [--no-gpkg]

What it does:

1. Generates (once, cached in ``benchmarks/out/``) two synthetic OCS GE vintages over the
   communes of one Centre-Val de Loire département (Loir-et-Cher by default: 272 communes of
   COG 2018) with :func:`ocsol.synthetic.generate_ocsge`: ``--n`` polygons per vintage, 20–60
   vertices each, 3 % of the polygons changed (half reclassified, half split). A second pair of
   ``--n-overlay`` polygons is made for the side-by-side comparison.
2. Runs every measured case in its own subprocess, so that each peak memory
   (``VmHWM``, see :func:`rss_gb`) is that case's own:

   - ``ocsol``: stock of both vintages + transitions + flows + land account, per commune and
     for every parent level (EPCI, département): ``Zones`` → ``change.compare_vintages`` →
     ``indicators.build_tables``, on GeoDataFrames already in memory (median of ``--runs``, each
     in its own process, alternated with the baseline; numba kernels warmed up first);
   - ``overlay``: the reference way, chained ``geopandas.overlay`` (vintage 1 ∩ vintage 2 ∩
     communes) then a groupby per commune and (cs, us) couple, on the same in-memory input;
   - ``pipeline`` (unless ``--no-gpkg``): ``ocsol.pipeline.compute`` end to end from
     GeoPackages, reading included (reading time is also reported on its own).

Memory: "peak" is the subprocess's maximum resident set (``VmHWM``), input layers and their
loading included; "input" is the resident set right after loading the layers, before computing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
CVL = ROOT / "data" / "cvl"
OUT = ROOT / "benchmarks" / "out"
V1, V2 = 2019, 2022
CHANGE_RATE = 0.03
SEED = 41


def _status_gb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in GB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def rss_gb() -> float:
    """Peak resident set of this process image.

    ``VmHWM`` rather than ``ru_maxrss``: on Linux ``ru_maxrss`` survives ``fork``/``exec``, so a
    child would report its parent's peak; ``VmHWM`` starts afresh with the new image.
    """
    peak = _status_gb("VmHWM")
    if peak != peak:  # not Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return peak


# --------------------------------------------------------------------------------------------
# Inputs (generated once, cached)


def communes_of(dep: str) -> gpd.GeoDataFrame:
    """Communes of a CVL département (COG 2018 geometries) with their COG 2026 EPCI, EPSG:2154."""
    g = gpd.read_file(CVL / "communes-centre-val-de-loire.geojson")
    g = g[g["code"].str.startswith(dep)].sort_values("code").reset_index(drop=True)
    cog = pd.read_csv(CVL / "communes_cvl_cog2026_epci_population.csv", dtype=str)
    epci = g["code"].map(cog.set_index("insee_com")["epci_siren"])  # 2018 codes gone in 2026: none
    return gpd.GeoDataFrame(
        {"CODE_INSEE": g["code"], "NOM": g["nom"], "SIREN_EPCI": epci, "DEP": dep},
        geometry=g.geometry.values, crs=g.crs,
    ).to_crs("EPSG:2154")


def prepare(n: int, dep: str, gpkg: bool, data: Path = OUT) -> tuple[Path, dict]:
    """Generate (or reuse) the synthetic pair for ``n`` polygons (cached under ``data``), in a subprocess."""
    folder = data / f"d{dep}_n{n}_s{SEED}"
    facts_path = folder / "facts.json"
    if not (facts_path.exists() and (not gpkg or (folder / "ocsol.toml").exists())):
        extra = [] if gpkg else ["--no-gpkg"]
        run_case("generate", folder, 1, ["--n", str(n), "--dep", dep, *extra])
    return folder, json.loads(facts_path.read_text())


def case_generate(folder: Path, n: int, dep: str, gpkg: bool) -> dict:
    facts_path = folder / "facts.json"
    folder.mkdir(parents=True, exist_ok=True)
    communes = communes_of(dep)
    communes.to_file(folder / "communes.gpkg", driver="GPKG", engine="pyogrio")
    t = time.perf_counter()
    layers = generate_ocsge_cached(communes, n)
    gen_s = time.perf_counter() - t
    gen_peak = rss_gb()
    for year, layer in layers.items():
        pd.to_pickle(layer, folder / f"ocsge_{year}.pkl")
    a, b = layers[V1], layers[V2]
    ka = (a["code_cs"] + "|" + a["code_us"]).set_axis(a["ID"])
    kb = (b["code_cs"] + "|" + b["code_us"]).set_axis(b["ID"])
    changed = ~ka.eq(kb.reindex(ka.index)).to_numpy()  # split (ID gone) or reclassified
    facts = {
        "n_communes": len(communes),
        "polygons": {str(y): len(layer) for y, layer in layers.items()},
        "vertices_mean": float(shapely.get_num_coordinates(a.geometry.values).mean()),
        "vertices": int(shapely.get_num_coordinates(a.geometry.values).sum()),
        "changed_share": float(changed.mean()),
        "generate_s": gen_s,
        "generate_peak_gb": gen_peak,
        "area_km2": float(a.area.sum() / 1e6),
    }
    if gpkg:
        t = time.perf_counter()
        for year, layer in layers.items():
            layer.to_file(folder / f"ocsge_{year}.gpkg", driver="GPKG", engine="pyogrio")
        facts["gpkg_write_s"] = time.perf_counter() - t
        facts["gpkg_mb"] = sum((folder / f"ocsge_{y}.gpkg").stat().st_size for y in layers) / 1e6
        (folder / "ocsol.toml").write_text(
            "# SYNTHETIC OCS GE (ocsol.synthetic), benchmark input\n"
            "[territories]\npath = \"communes.gpkg\"\ncode = \"CODE_INSEE\"\nname = \"NOM\"\n"
            "levels = { epci = \"SIREN_EPCI\", dep = \"DEP\" }\n\n"
            f"[ocsge.vintages]\n{V1} = \"ocsge_{V1}.gpkg\"\n{V2} = \"ocsge_{V2}.gpkg\"\n",
            encoding="utf-8",
        )
    facts_path.write_text(json.dumps(facts, indent=1))
    return facts


def generate_ocsge_cached(communes: gpd.GeoDataFrame, n: int) -> dict[int, gpd.GeoDataFrame]:
    from ocsol.synthetic import generate_ocsge

    return generate_ocsge(communes, n_polygons=n, vintages=(V1, V2), change_rate=CHANGE_RATE, seed=SEED)


def load(folder: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, float]:
    """The two vintages (``cs, us, geometry``) and the communes, from the cache."""
    t = time.perf_counter()
    v = {}
    for year in (V1, V2):
        layer = pd.read_pickle(folder / f"ocsge_{year}.pkl")
        v[year] = gpd.GeoDataFrame({"cs": layer["code_cs"].to_numpy(), "us": layer["code_us"].to_numpy()},
                                   geometry=layer.geometry.values, crs=layer.crs)
        del layer
    communes = gpd.read_file(folder / "communes.gpkg")
    return v[V1], v[V2], communes, time.perf_counter() - t


# --------------------------------------------------------------------------------------------
# Measured cases (each in its own subprocess)


def case_ocsol(folder: Path, runs: int) -> dict:
    from ocsol import change, indicators, nomenclature
    from ocsol.io.territories import read_territories

    v1, v2, _, load_s = load(folder)
    territories = read_territories(folder / "communes.gpkg", code="CODE_INSEE", name="NOM",
                                   levels={"epci": "SIREN_EPCI", "dep": "DEP"})
    rule = nomenclature.load_rule("decret-2023")
    input_gb = _status_gb("VmRSS")
    # warm-up: numba kernels load from their cache (or compile) on first use, once per process
    change.compare_vintages(v1.iloc[:2000], v2.iloc[:2000], change.Zones.from_communes(territories.communes),
                            vintage_from=V1, vintage_to=V2, keep_changes=False)
    times, cpu, detail = [], [], {}
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        zones = change.Zones.from_communes(territories.communes)
        t1 = time.perf_counter()
        res = change.compare_vintages(v1, v2, zones, vintage_from=V1, vintage_to=V2, keep_changes=False)
        t2 = time.perf_counter()
        pairs = pd.concat([v1[["cs", "us"]], v2[["cs", "us"]]]).drop_duplicates()
        classes = nomenclature.classify(pairs, rule)
        stock_p = pd.concat([res.stock_from, res.stock_to], ignore_index=True)
        tables = indicators.build_tables(stock_p, res.transitions, classes, territories, full_pairs=[(V1, V2)])
        t3 = time.perf_counter()
        times.append(t3 - t0)
        cpu.append(time.process_time() - c0)  # all threads: less sensitive to the load than wall time
        detail = {"zones_s": t1 - t0, "overlay_s": t2 - t1, "tables_s": t3 - t2,
                  "matched": res.matched, "overlaid": res.overlaid,
                  "rows": {k: len(df) for k, df in tables.as_dict().items()}}
        del res, tables
    return {"case": "ocsol", "times_s": times, "median_s": statistics.median(times), "load_s": load_s,
            "cpu_s": statistics.median(cpu),
            "input_gb": input_gb, "peak_gb": rss_gb(), **detail}


def case_overlay(folder: Path, runs: int) -> dict:
    v1, v2, communes, load_s = load(folder)
    communes = communes[["CODE_INSEE", "geometry"]].rename(columns={"CODE_INSEE": "code"})
    a = v1.rename(columns={"cs": "cs_from", "us": "us_from"})
    b = v2.rename(columns={"cs": "cs_to", "us": "us_to"})
    input_gb = _status_gb("VmRSS")
    times, cpu, detail = [], [], {}
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        ab = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
        t1 = time.perf_counter()
        abc = gpd.overlay(ab, communes, how="intersection", keep_geom_type=True)
        t2 = time.perf_counter()
        abc["area_m2"] = abc.area
        trans = abc.groupby(["code", "cs_from", "us_from", "cs_to", "us_to"])["area_m2"].sum()
        s1 = abc.groupby(["code", "cs_from", "us_from"])["area_m2"].sum()
        s2 = abc.groupby(["code", "cs_to", "us_to"])["area_m2"].sum()
        t3 = time.perf_counter()
        times.append(t3 - t0)
        cpu.append(time.process_time() - c0)  # all threads: less sensitive to the load than wall time
        detail = {"overlay_v1_v2_s": t1 - t0, "overlay_communes_s": t2 - t1, "groupby_s": t3 - t2,
                  "pieces": len(abc), "rows": len(trans) + len(s1) + len(s2)}
        del ab, abc
    return {"case": "overlay", "times_s": times, "median_s": statistics.median(times),
            "cpu_s": statistics.median(cpu), "load_s": load_s,
            "input_gb": input_gb, "peak_gb": rss_gb(), **detail}


def case_pipeline(folder: Path, runs: int) -> dict:
    import logging

    from ocsol.io.ocsge import read_ocsge
    from ocsol.pipeline import compute

    logging.disable(logging.CRITICAL)
    t = time.perf_counter()
    read_ocsge(folder / f"ocsge_{V1}.gpkg")
    read_one_s = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = compute(folder / "ocsol.toml")
        times.append(time.perf_counter() - t0)
        del res
    return {"case": "pipeline", "times_s": times, "median_s": statistics.median(times),
            "read_one_vintage_s": read_one_s, "peak_gb": rss_gb()}


CASES = {"ocsol": case_ocsol, "overlay": case_overlay, "pipeline": case_pipeline}
#: The engine before issue 13 (main at dc770d0), measured side by side in every run.
BASELINE_COMMIT = "dc770d0"


def baseline_src() -> Path:
    """A copy of the baseline's ``src/`` (``git archive``), made once in ``benchmarks/out``."""
    dest = OUT / f"baseline_{BASELINE_COMMIT}"
    if not (dest / "src" / "ocsol" / "change.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def parquet_config(folder: Path) -> Path:
    """The same pair as GeoParquet (converted once), for the GeoParquet end-to-end case."""
    cfg = folder / "ocsol_parquet.toml"
    if not cfg.exists():
        # In a child process: read here, the 1 M layers would raise this process's peak RSS, and every
        # later `ocsol indicators` child would inherit it as its ru_maxrss (Linux keeps it across fork).
        code = ("import sys, geopandas as gpd\n"
                "for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):\n"
                "    gpd.read_file(src, engine='pyogrio', use_arrow=True).to_parquet(dst)\n")
        args = [str(folder / f"ocsge_{year}{ext}") for year in (V1, V2) for ext in (".gpkg", ".parquet")]
        subprocess.run([sys.executable, "-c", code, *args], check=True)
        text = (folder / "ocsol.toml").read_text(encoding="utf-8").replace(".gpkg\"\n", ".parquet\"\n")
        cfg.write_text(text.replace('path = "communes.parquet"', 'path = "communes.gpkg"'), encoding="utf-8")
    return cfg


def cli_run(config: Path, out: Path, src: Path | None = None) -> dict:
    """``ocsol indicators`` as a whole process: wall time and that process's own peak RSS."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ocsol", "indicators", "-q", "--config", str(config),
                             "--out", str(out)], env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"ocsol indicators failed on {config}: {proc.stderr.read().decode()[-2000:]}")
    return {"seconds": seconds, "peak_gb": usage.ru_maxrss / 1024**2, "cpu_s": usage.ru_utime + usage.ru_stime}


def run_case(name: str, folder: Path, runs: int, extra: list[str] | None = None, src: Path | None = None, *,
             script: str = __file__) -> dict:
    """Run one measured case of ``script`` (this file by default) in a subprocess; its JSON result."""
    cmd = [sys.executable, script, "--case", name, "--folder", str(folder), "--runs", str(runs), *(extra or [])]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"case {name} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def alternate(folder: Path, runs: int, base: Path) -> tuple[dict, dict]:
    """The engine case of this code and of the baseline, one run each in turn (``runs`` times),
    so that both see the same load; each merged as one case (times of every run, medians)."""
    mine: list[dict] = []
    theirs: list[dict] = []
    for _ in range(runs):
        mine.append(run_case("ocsol", folder, 1))
        theirs.append(run_case("ocsol", folder, 1, src=base))

    def merge(results: list[dict]) -> dict:
        out = dict(results[len(results) // 2])  # details of the middle run
        out["times_s"] = [t for x in results for t in x["times_s"]]
        out["median_s"] = statistics.median(out["times_s"])
        out["cpu_s"] = statistics.median(x["cpu_s"] for x in results)
        out["peak_gb"] = max(x["peak_gb"] for x in results)
        for k in ("zones_s", "overlay_s", "tables_s"):
            out[k] = statistics.median(x[k] for x in results)
        return out

    return merge(mine), merge(theirs)


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="polygons per vintage, big case")
    ap.add_argument("--n-overlay", type=int, default=200_000, help="polygons per vintage, side by side")
    ap.add_argument("--runs", type=int, default=3, help="runs per ocsol case (median)")
    ap.add_argument("--overlay-runs", type=int, default=3, help="runs of geopandas.overlay (slow)")
    ap.add_argument("--cli-runs", type=int, default=3, help="runs of `ocsol indicators` per input format and engine")
    ap.add_argument("--dep", default="41", help="CVL département code")
    ap.add_argument("--no-gpkg", action="store_true", help="skip the end-to-end run from GeoPackages")
    ap.add_argument("--cli-only", action="store_true", help="the whole-process runs only (no engine case, 1 M pair)")
    ap.add_argument("--data", type=Path, default=OUT, help="folder of the cached inputs (e.g. another worktree's)")
    ap.add_argument("--baseline-src", type=Path, help=f"the baseline's src/ (default: {BASELINE_COMMIT}, "
                    "archived once)")
    ap.add_argument("--case", choices=sorted([*CASES, "generate"]), help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case == "generate":
        print(json.dumps(case_generate(args.folder, args.n, args.dep, not args.no_gpkg)))
        return
    if args.case:  # child process: one measured case, JSON on the last stdout line
        print(json.dumps(CASES[args.case](args.folder, args.runs)))
        return

    print(f"ocsol OCS GE benchmark — SYNTHETIC vintages over département {args.dep} "
          f"({os.cpu_count()} CPUs, shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, "
          f"geopandas {gpd.__version__}); baseline = {args.baseline_src or 'the engine at ' + BASELINE_COMMIT}, "
          "run alongside", flush=True)
    base = args.baseline_src or baseline_src()
    report: dict = {}

    def load() -> str:
        return f"load {os.getloadavg()[0]:.1f}"

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    for label, n in (("big", args.n), ("side", args.n_overlay)):
        if not n or (args.cli_only and label == "side"):  # --n 0: the side-by-side case only
            continue
        folder, facts = prepare(n, args.dep, gpkg=not args.no_gpkg and label == "big", data=args.data)
        report[label] = {"facts": facts}
        print(f"\n== {n:,} polygons per vintage: {facts['polygons']} polygons, {facts['n_communes']} communes, "
              f"{facts['area_km2']:.0f} km², {facts['vertices_mean']:.1f} vertices/polygon, "
              f"{100 * facts['changed_share']:.1f} % of polygons changed", flush=True)
        r, b0 = alternate(folder, args.runs, base) if not args.cli_only else ({}, {})
        report[label].update(ocsol=r, baseline=b0)
        for name, x in (("ocsol   ", r), ("baseline", b0)) if r else ():
            print(f"   {name} engine in memory (stock+flows+transitions+land account, every level): "
                  f"median {x['median_s']:.2f} s of {[round(t, 2) for t in x['times_s']]} "
                  f"CPU {x.get('cpu_s', float('nan')):.1f} s (zones {x['zones_s']:.2f}, overlay {x['overlay_s']:.2f}, tables {x['tables_s']:.2f}); "
                  f"peak {x['peak_gb']:.2f} GB (input {x['input_gb']:.2f}); {x['matched']:,} paired, "
                  f"{x['overlaid']:,} overlaid; {load()}", flush=True)
        if r:
            print(f"   engine ratio baseline / ocsol: ×{b0['median_s'] / r['median_s']:.2f}", flush=True)
        if label == "big" and not args.no_gpkg:
            for fmt, cfg in (("GeoPackage", folder / "ocsol.toml"), ("GeoParquet", parquet_config(folder))):
                runs = {"ocsol": [], "baseline": []}
                for _ in range(args.cli_runs):
                    runs["ocsol"].append(cli_run(cfg, OUT / "cli_new"))
                    runs["baseline"].append(cli_run(cfg, OUT / "cli_base", src=base))
                report[label][f"cli_{fmt}"] = runs
                new_s, old_s = med([x["seconds"] for x in runs["ocsol"]]), med([x["seconds"] for x in runs["baseline"]])
                print(f"   `ocsol indicators` from {fmt}, whole process: ocsol median {new_s:.1f} s "
                      f"{[round(x['seconds'], 1) for x in runs['ocsol']]} peak {max(x['peak_gb'] for x in runs['ocsol']):.2f} GB"
                      f"; baseline {old_s:.1f} s {[round(x['seconds'], 1) for x in runs['baseline']]} peak "
                      f"{max(x['peak_gb'] for x in runs['baseline']):.2f} GB; ×{old_s / new_s:.2f}; CPU time (user + "
                      f"system, less sensitive to the load) ocsol {med([x['cpu_s'] for x in runs['ocsol']]):.1f} s, "
                      f"baseline {med([x['cpu_s'] for x in runs['baseline']]):.1f} s; {load()}", flush=True)
        if label == "side" and args.overlay_runs:
            o = run_case("overlay", folder, args.overlay_runs)
            report[label]["overlay"] = o
            print(f"   geopandas.overlay chained (v1 ∩ v2 ∩ communes) + groupby: median {o['median_s']:.1f} s of "
                  f"{[round(x, 1) for x in o['times_s']]} (v1∩v2 {o['overlay_v1_v2_s']:.1f}, ∩communes "
                  f"{o['overlay_communes_s']:.1f}, groupby {o['groupby_s']:.1f}); peak {o['peak_gb']:.2f} GB; {load()}",
                  flush=True)
            print(f"   ratio geopandas.overlay / ocsol: ×{o['median_s'] / r['median_s']:.1f} "
                  f"(baseline engine: ×{o['median_s'] / b0['median_s']:.1f})", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_ocsge.json").write_text(json.dumps(report, indent=1, default=float))
    big = report.get("big", {})
    if big.get("ocsol"):
        print(f"\ntarget: engine 1 M in memory ≤ 6 s → {big['ocsol']['median_s']:.1f} s")
    if "overlay" in report.get("side", {}):
        print(f"target: ≥ 40× geopandas.overlay at {args.n_overlay:,} → "
              f"{report['side']['overlay']['median_s'] / report['side']['ocsol']['median_s']:.1f}×")
    for fmt, limit in (("GeoParquet", 12), ("GeoPackage", 20)):
        if f"cli_{fmt}" in big:
            runs = big[f"cli_{fmt}"]["ocsol"]
            print(f"targets: `ocsol indicators` from {fmt} ≤ {limit} s → {med([x['seconds'] for x in runs]):.1f} s; "
                  f"peak ≤ 2 GB → {max(x['peak_gb'] for x in runs):.2f} GB")


if __name__ == "__main__":
    main()
