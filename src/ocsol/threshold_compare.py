"""Calibration of the thresholds against IGN's OCS GE Artificialisation product (THRESHOLDS.md §6, V3).

Given IGN's product for one département and millésime (per polygon ``artif``) and the raw OCS GE of
the same millésime, :func:`compare_with_ign` runs :mod:`ocsol.thresholds` under every combination
of the uncertain settings (:func:`ocsol.thresholds.all_settings`) and measures, per commune and in
total, how far each result is from IGN:

- ``disagree_ha``: area where ocsol's status differs from IGN's ``artif`` (both overlaid, then cut
  by the communes);
- ``disagree_edge_ha``: the part of it on polygons touching the edge of the data (where the edge
  policy matters and patches cut by the département limit are suspect);
- ``stock_gap_ha``: ocsol's artificial stock minus IGN's;
- ``polygons_disagree`` / ``share_polygons_disagree``: raw polygons whose status differs from the
  IGN polygon holding their representative point.

The matrix alone (no thresholds) is listed too, as the baseline. Settings are ranked by total
disagreeing area, then by the polygon share; settings that give exactly the same result share
their rank (the layer does not tell them apart), and all of them are marked ``recommended`` when
they are the closest.

The overlay (raw × IGN × communes) is done once; each setting then costs one run of the
thresholds on a shared adjacency graph.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from . import change, nomenclature
from .config import Config, load_config
from .departements import input_paths
from .errors import ConfigError, SchemaError
from .io.ocsge import read_ocsge
from .io.ocsge_artif import read_ocsge_artif
from .io.write import check_out_dir, publish_files
from .pipeline import _rule_ref, load_territories
from .thresholds import (
    CHOICES,
    PatchGraph,
    ThresholdSettings,
    all_settings,
    patch_graph,
    run_thresholds,
    single_polygons,
)

log = logging.getLogger(__name__)

MATRIX = "matrix (no thresholds)"


@dataclass
class Comparison:
    """Distances to IGN per setting: ``total`` (one row per setting, ranked) and ``communes``."""

    total: pd.DataFrame
    communes: pd.DataFrame

    @property
    def recommended(self) -> pd.DataFrame:
        """The closest setting(s) (several when the layer cannot tell them apart)."""
        return self.total[self.total["recommended"]]


def _pieces(raw: gpd.GeoDataFrame, ign: gpd.GeoDataFrame, zones: change.Zones) -> pd.DataFrame:
    """Area of every (raw polygon, IGN polygon, commune) piece, from one overlay."""
    a = gpd.GeoDataFrame({"cs": np.arange(len(raw)).astype(str), "us": ""}, geometry=raw.geometry.values, crs=raw.crs)
    b = gpd.GeoDataFrame({"cs": np.arange(len(ign)).astype(str), "us": ""}, geometry=ign.geometry.values, crs=ign.crs)
    t = change.compare_vintages(a, b, zones, vintage_from=0, vintage_to=1, keep_changes=False).transitions
    return pd.DataFrame({"code": t["code"].to_numpy(), "raw": t["cs_from"].astype(np.int64).to_numpy(),
                         "ign": t["cs_to"].astype(np.int64).to_numpy(), "area_m2": t["area_m2"].to_numpy()})


def compare_with_ign(
    raw: gpd.GeoDataFrame,
    ign: gpd.GeoDataFrame,
    zones: change.Zones,
    *,
    base: ThresholdSettings | None = None,
    settings: list[ThresholdSettings] | None = None,
    edge: shapely.Geometry | None = None,
) -> Comparison:
    """Run the thresholds under each setting and measure the distance to IGN's ``artif``.

    Parameters
    ----------
    raw
        Raw OCS GE of the whole département: ``cs``, matrix status ``artif`` (bool), geometry.
    ign
        IGN's artificialisation layer of the same millésime: ``artif`` (bool), geometry.
    zones
        The communes the distances are reported for.
    base
        Values of the settings that are not varied (thresholds, built codes); default values
        otherwise.
    settings
        The settings to try (default: every combination of :data:`ocsol.thresholds.CHOICES`).
    edge
        The area the data cover (default: the union of ``raw``).

    Returns
    -------
    Comparison
    """
    for name, layer, cols in (("raw OCS GE", raw, ("cs", "artif")), ("IGN artificialisation", ign, ("artif",))):
        missing = [c for c in cols if c not in layer.columns]
        if missing:
            raise SchemaError(f"thresholds compare: the {name} layer lacks {missing}")
    raw = single_polygons(raw).reset_index(drop=True)
    matrix = raw["artif"].to_numpy(dtype=bool)
    ign_artif = ign["artif"].to_numpy(dtype=bool)
    settings = settings or all_settings(base)
    pieces = _pieces(raw, ign, zones)
    ign_art_piece = ign_artif[pieces["ign"].to_numpy()]
    # IGN status at each raw polygon's representative point
    pi, gj = STRtree(np.asarray(ign.geometry.values)).query(shapely.point_on_surface(np.asarray(raw.geometry.values)),
                                                           predicate="intersects")
    at_point = np.full(len(raw), -1, dtype=np.int8)
    at_point[pi] = ign_artif[gj]
    known = at_point >= 0
    if (~known).any():
        log.info("thresholds compare: %d raw polygon(s) fall outside the IGN layer (not counted)", int((~known).sum()))
    graphs: dict[tuple[str, float, tuple[str, ...]], PatchGraph] = {}
    rows, total_rows = [], []
    runs: list[tuple[str, dict, np.ndarray]] = [(MATRIX, dict.fromkeys(CHOICES, ""), matrix)]
    for s in settings:
        key = (s.adjacency, s.snap_m, s.exclude_from_connectivity)
        if key not in graphs:
            graphs[key] = patch_graph(raw, adjacency=s.adjacency, snap_m=s.snap_m, edge=edge, settings=s)
        status = run_thresholds(graphs[key], matrix, s).status
        runs.append((s.label, {k: getattr(s, k) for k in CHOICES}, status))
    # polygon counts per commune: a polygon belongs to the commune holding most of it
    owner = (pieces.sort_values("area_m2", ascending=False, kind="mergesort").drop_duplicates("raw")
             .set_index("raw")["code"].reindex(np.arange(len(raw))).to_numpy())
    on_edge = next(iter(graphs.values())).on_edge if graphs else np.zeros(len(raw), dtype=bool)
    edge_piece = on_edge[pieces["raw"].to_numpy()]
    codes = pieces["code"].to_numpy()
    area = pieces["area_m2"].to_numpy()
    raw_idx = pieces["raw"].to_numpy()
    for label, choice, status in runs:
        ours = status[raw_idx]
        off = ours != ign_art_piece
        per = pd.DataFrame({"code": codes, "disagree_m2": np.where(off, area, 0.0),
                            "edge_m2": np.where(off & edge_piece, area, 0.0),
                            "ours_m2": np.where(ours, area, 0.0), "ign_m2": np.where(ign_art_piece, area, 0.0)})
        per = per.groupby("code", as_index=False).sum()
        dis = (status != (at_point == 1)) & known
        pc = pd.DataFrame({"code": owner, "d": dis, "n": known})
        pc = pc.dropna(subset=["code"]).groupby("code", as_index=False)[["d", "n"]].sum()
        per = per.merge(pc, on="code", how="left").fillna({"d": 0, "n": 0})
        per.insert(0, "settings", label)
        for k, v in choice.items():
            per[k] = v
        rows.append(per)
        total_rows.append({"settings": label, **choice, "disagree_m2": float(per["disagree_m2"].sum()),
                           "edge_m2": float(per["edge_m2"].sum()),
                           "ours_m2": float(per["ours_m2"].sum()), "ign_m2": float(per["ign_m2"].sum()),
                           "d": int(dis.sum()), "n": int(known.sum())})
    return Comparison(total=_finish(pd.DataFrame(total_rows), rank=True),
                      communes=_finish(pd.concat(rows, ignore_index=True), rank=False))


def _finish(df: pd.DataFrame, *, rank: bool) -> pd.DataFrame:
    out = df.copy()
    out["disagree_ha"] = out.pop("disagree_m2") / 1e4
    out["disagree_edge_ha"] = out.pop("edge_m2") / 1e4
    out["ours_artif_ha"] = out.pop("ours_m2") / 1e4
    out["ign_artif_ha"] = out.pop("ign_m2") / 1e4
    out["stock_gap_ha"] = out["ours_artif_ha"] - out["ign_artif_ha"]
    out["polygons_disagree"] = out.pop("d").astype(int)
    out["polygons"] = out.pop("n").astype(int)
    out["share_polygons_disagree"] = np.where(out["polygons"] > 0, out["polygons_disagree"] / out["polygons"].clip(1),
                                              np.nan)
    if rank:
        key = out["disagree_ha"].round(6).astype(str) + "|" + out["polygons_disagree"].astype(str)
        order = out.assign(_k=key).sort_values(["disagree_ha", "polygons_disagree"], kind="mergesort")
        ranks = order["_k"].ne(order["_k"].shift()).cumsum()
        out["rank"] = ranks.reindex(out.index).astype(int)
        out["recommended"] = (out["rank"] == 1) & (out["settings"] != MATRIX)
        out = out.sort_values(["rank", "settings"], kind="mergesort").reset_index(drop=True)
    else:
        out = out.sort_values(["settings", "code"], kind="mergesort").reset_index(drop=True)
    return out


def _csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    """A writer of ``df`` as CSV (six decimals, ``\\n`` line ends) for :func:`ocsol.io.write.publish_files`."""
    return lambda p: df.to_csv(p, index=False, lineterminator="\n", float_format="%.6f")


def compare_command(*, config, vintage: int, ign, ign_layer: str | None = None, out) -> Comparison:
    """``ocsol thresholds compare``: read the configuration's raw vintage and IGN's layer, compare, write.

    Writes ``thresholds_compare.csv`` (one row per setting, ranked) and
    ``thresholds_compare_communes.csv`` (per commune) into ``out``.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    check_out_dir(out, [*input_paths(cfg), ign])  # before computing: refuse at once
    sec = cfg.ocsge
    paths = {int(str(k)): v for k, v in sec.vintages.items()}
    if int(vintage) not in paths:
        raise ConfigError(f"{cfg.label}: no OCS GE vintage {vintage} in [ocsge.vintages] (found {sorted(paths)}); "
                          "the raw OCS GE of the IGN product's millésime is needed")
    territories = load_territories(cfg)
    raw, _ = read_ocsge(cfg.resolve(paths[int(vintage)]), crs=cfg.crs, cs_field=sec.cs_field,
                        us_field=sec.us_field, layer=sec.layer)
    classes = nomenclature.classify(raw[["cs", "us"]], nomenclature.load_rule(_rule_ref(cfg, sec.rule)))
    raw["artif"] = raw[["cs", "us"]].merge(classes, on=["cs", "us"], how="left")["artif"].to_numpy(dtype=bool)
    base = ThresholdSettings.from_config(cfg.thresholds.as_dict())
    ign_layer_, _ = read_ocsge_artif(ign, vintage=int(vintage), crs=cfg.crs, layer=ign_layer)
    result = compare_with_ign(raw, ign_layer_,
                              change.Zones.from_communes(territories.communes), base=base)
    tables = {"thresholds_compare.csv": result.total, "thresholds_compare_communes.csv": result.communes}
    publish_files({name: _csv_writer(df) for name, df in tables.items()}, out)
    return result
