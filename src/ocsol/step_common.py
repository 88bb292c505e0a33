"""What the pipeline's steps share: their output (:class:`StepOutput`), QA rows, file provenance,
classified layers and the extent of a change layer.

The steps of :mod:`ocsol.steps` use them and :mod:`ocsol.pipeline` composes their outputs; keeping
them here lets the pipeline import its steps without a step importing the pipeline back.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from . import nomenclature
from .territories import Territories


def qa_row(topic: str, item: str, count: object, detail: str = "", *, key: str = "", codes: Any = (),
           files: Any = (), **params: Any) -> dict:
    """One QA row: ``key`` words it in French (catalogue group ``qa``), ``params`` fill the wording.

    A row without a key (or with a key the catalogue lacks) is shown in reports as « Autre
    contrôle (topic) : voir qa.csv » — never in English; add its key to ``ocsol/fr/catalogue.csv``.
    """
    return {"topic": topic, "key": key, "item": item, "count": count, "detail": detail,
            "codes": ";".join(str(c) for c in codes if str(c)),
            "files": ";".join(sorted({Path(str(f)).name for f in files if str(f)})),
            "params": json.dumps({k: v for k, v in params.items() if v is not None}, ensure_ascii=False,
                                 sort_keys=True)}


def partial_qa(partial: pd.DataFrame, measure: str, *, topic: str = "ocsge") -> list[dict]:
    """One QA row naming the parents without ``measure`` figures because not all their communes are covered."""
    if partial is None or partial.empty:
        return []
    items = [f"{r.level} {r.code} ({r.n_missing} of {r.n_members} communes outside)" for r in partial.itertuples()]
    return [qa_row(topic, f"{measure} figures not given for territories whose communes are not all covered (a partial "
                          "sum); the headline uses another measure when one covers them", len(items),
                   ", ".join(items[:10]) + (" …" if len(items) > 10 else ""), key="ocsge.partial_parents",
                   codes=partial["code"].astype(str).tolist(), measure=measure)]


def file_provenance(role: str, path: str | os.PathLike[str]) -> list[dict]:
    """sha256, size and modification date of an input file (and its shapefile siblings)."""
    p = Path(path)
    files = [p]
    if p.suffix.lower() == ".shp":
        files += [p.with_suffix(s) for s in (".dbf", ".shx", ".prj") if p.with_suffix(s).exists()]
    out = []
    for f in files:
        with open(f, "rb") as fh:  # read into one reused buffer (no new bytes object a chunk)
            h = hashlib.file_digest(fh, "sha256")
        st = f.stat()
        out.append({
            "role": role, "path": str(f), "sha256": h.hexdigest(), "size": st.st_size,
            "modified": datetime.fromtimestamp(st.st_mtime, tz=UTC).strftime("%Y-%m-%d"),
        })
    return out


def classify_layer(layer, cs_cols, us_cols, rule, source) -> pd.DataFrame:
    """The (cs, us) couples of a layer (one pair of code columns per vintage) classified by ``rule``."""
    area = layer.geometry.area
    pairs = pd.concat(
        [pd.DataFrame({"cs": layer[c], "us": layer[u], "a": area}) for c, u in zip(cs_cols, us_cols, strict=True)],
        ignore_index=True,
    )
    return nomenclature.classify(pairs[["cs", "us"]], rule, source=source, area=pairs["a"])


def diff_extent(diff: gpd.GeoDataFrame, communes: gpd.GeoDataFrame | Territories, y1: int, y2: int) -> pd.DataFrame:
    """Communes inside the convex hull of a change layer: they get flows (0 when no change)."""
    if isinstance(communes, Territories):
        communes = communes.communes
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(diff.geometry.values)))
    inside = communes.loc[communes.intersects(hull), "code"]
    return pd.DataFrame({"code": inside.to_numpy(), "vintage_from": y1, "vintage_to": y2})


@dataclass
class StepOutput:
    """What one step of :func:`ocsol.compute` gives: tables, change polygons (OCS GE only), and the
    provenance and QA rows it adds, in the order it found them (the order is kept in the outputs)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)
    qa: list[dict] = field(default_factory=list)
    changes: gpd.GeoDataFrame | None = None


def stack(first: pd.DataFrame | None, second: pd.DataFrame) -> pd.DataFrame:
    """Rows of two measures in one table (the first's rows first); empty parts are skipped."""
    parts = [t for t in (first, second) if t is not None and len(t)]
    if not parts:
        return second if first is None else first
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)
