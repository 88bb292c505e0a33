"""Commune-code reconciliation: map a commune-keyed table from its code list to the territories'.

Every source (Cerema consumption, INSEE population…) is published in the COG (code officiel
géographique) of its own year; the territories are in another. This module maps the codes of a
source onto a **target code list** (the territories' codes), following DOMAIN.md §3.4 and §5.3:

- **mergers** (fusion, commune nouvelle): the values of every old code are summed into the new code;
- **splits** (création, rétablissement, COG error): the values of the old code are shared between
  the new codes in proportion to their area (``area_m2`` of the target communes), unless a weights
  table (``old_code, new_code, weight``) gives the shares;
- **missing communes**: a target code no source code maps to gets no value and is flagged.

The links between codes come from the INSEE table of commune changes (``MOD, DATE_EFF, TYPECOM_AV,
COM_AV, TYPECOM_AP, COM_AP…``, DOMAIN §5.2) and/or a table of communes déléguées / associées
(``insee_old → insee_chef_lieu``); readers are in :mod:`ocsol.io.cog`. Pure functions, no files.

Each target commune gets a ``correction_status``:

``unchanged``
    its value comes from its own code only;
``merged``
    it sums one or more other codes (with or without its own), every share whole;
``split``
    it receives a share (weight < 1) of at least one source code: an estimate;
``missing_from_source``
    no code of the source maps to it (no value; counted as zero only by explicit choice).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .errors import SchemaError, format_problems

log = logging.getLogger(__name__)

STATUSES = ("unchanged", "merged", "split", "missing_from_source")
#: Severity order used to summarise the status of a parent territory.
SEVERITY = {"unchanged": 0, "merged": 1, "split": 2, "missing_from_source": 3}
LINK_COLUMNS = ["old_code", "new_code"]
MAPPING_COLUMNS = ["old_code", "new_code", "weight"]


@dataclass(frozen=True)
class Reconciliation:
    """A code mapping from one source code list to the target list.

    Attributes
    ----------
    mapping
        ``old_code, new_code, weight``: each source code's share going to each target code
        (weights of one ``old_code`` sum to 1).
    status
        ``code, correction_status, source_codes`` for every target code (``source_codes``: the
        source codes feeding it, ``+``-joined, empty when missing).
    unmapped
        Source codes that reach no target code (left out, listed for the QA).
    """

    mapping: pd.DataFrame
    status: pd.DataFrame
    unmapped: list[str] = field(default_factory=list)

    def apply(self, table: pd.DataFrame, *, values: Sequence[str], by: Sequence[str] = (),
              code: str = "code") -> pd.DataFrame:
        """Map ``table`` (keyed by ``code`` + ``by``) to the target codes; see :func:`reconcile`."""
        return reconcile(table, self.mapping, values=values, by=by, code=code)


def links_from_changes(changes: pd.DataFrame, *, since: str | None = None) -> pd.DataFrame:
    """Old → new commune links from an INSEE table of commune changes.

    Parameters
    ----------
    changes
        Columns ``MOD, DATE_EFF, TYPECOM_AV, COM_AV, TYPECOM_AP, COM_AP`` (as read by
        :func:`ocsol.io.cog.read_changes`: lower-case ``mod, date_eff, typecom_av, com_av,
        typecom_ap, com_ap``). Only rows linking a commune (``COM``) to a commune are used:
        rows towards a commune déléguée or associée say the old commune lives on *inside* the
        new one, which the ``COM → COM`` row of the same event already records.
    since
        Keep changes effective on or after this date (``YYYY-MM-DD``): the date of the source's COG.

    Returns
    -------
    DataFrame
        ``old_code, new_code`` (self-links kept: a commune that keeps its code in a split).

    Examples
    --------
    >>> ch = pd.DataFrame({"mod": ["32", "32"], "date_eff": ["2024-01-01"] * 2,
    ...                    "typecom_av": ["COM", "COM"], "com_av": ["69152", "69149"],
    ...                    "typecom_ap": ["COM", "COM"], "com_ap": ["69149", "69149"]})
    >>> links_from_changes(ch).values.tolist()
    [['69152', '69149'], ['69149', '69149']]
    """
    df = changes
    if "typecom_av" in df:
        df = df[df["typecom_av"].fillna("COM").isin(["COM", ""])]
    if "typecom_ap" in df:
        df = df[df["typecom_ap"].fillna("COM").isin(["COM", ""])]
    if since is not None and "date_eff" in df:
        df = df[df["date_eff"].astype(str) >= str(since)]
    out = df[["com_av", "com_ap"]].dropna().rename(columns={"com_av": "old_code", "com_ap": "new_code"})
    return out.drop_duplicates().reset_index(drop=True)


def links_from_deleguees(deleguees: pd.DataFrame) -> pd.DataFrame:
    """Old → new links from a communes déléguées / associées table (``old_code, new_code``).

    A commune déléguée whose code is its chef-lieu's (the chef-lieu itself) links to itself.
    """
    return deleguees[LINK_COLUMNS].dropna().drop_duplicates().reset_index(drop=True)


def build_reconciliation(
    source_codes: Iterable[str],
    target_codes: Iterable[str],
    *,
    links: pd.DataFrame | None = None,
    areas: pd.Series | None = None,
    weights: pd.DataFrame | None = None,
) -> Reconciliation:
    """Map every source code to the target codes.

    Parameters
    ----------
    source_codes
        The codes of the source table (its COG).
    target_codes
        The territories' codes (the target COG).
    links
        ``old_code, new_code`` links (:func:`links_from_changes`, :func:`links_from_deleguees`,
        or both concatenated); followed transitively until a target code is reached.
    areas
        Area of each target commune (index = code), for the shares of a split.
    weights
        ``old_code, new_code, weight``: shares of splits that override the area shares. Weights of
        one ``old_code`` must sum to 1 (± 1e-6).

    Returns
    -------
    Reconciliation

    Raises
    ------
    SchemaError
        When weights do not sum to 1 or name a target code the old code does not reach, or when
        a split needs areas that are not given.

    Examples
    --------
    >>> links = pd.DataFrame({"old_code": ["A", "A", "X"], "new_code": ["A", "B", "Y"]})
    >>> r = build_reconciliation(["A", "X", "Z", "Q"], ["A", "B", "Y", "Z", "W"], links=links,
    ...                          areas=pd.Series({"A": 3.0, "B": 1.0}))
    >>> r.mapping.values.tolist()
    [['A', 'A', 0.75], ['A', 'B', 0.25], ['X', 'Y', 1.0], ['Z', 'Z', 1.0]]
    >>> r.status.set_index("code")["correction_status"].to_dict()
    {'A': 'split', 'B': 'split', 'W': 'missing_from_source', 'Y': 'merged', 'Z': 'unchanged'}
    >>> r.unmapped
    ['Q']
    """
    sources = sorted({str(c) for c in source_codes if c is not None and not pd.isna(c)})
    targets = sorted({str(c) for c in target_codes})
    target_set = set(targets)
    edges: dict[str, set[str]] = {}
    if links is not None and len(links):
        for old, new in links[LINK_COLUMNS].itertuples(index=False):
            edges.setdefault(str(old), set()).add(str(new))

    def resolve(code: str, seen: frozenset[str]) -> set[str]:
        outs = edges.get(code, set()) - {code} - seen
        here = {code} if code in target_set else set()
        if not outs:
            return here
        reached: set[str] = set()
        for nxt in outs:
            reached |= resolve(nxt, seen | {code})
        if code in target_set and (code in edges.get(code, set()) or not reached):
            reached.add(code)  # keeps its code: a split, not a disappearance
        return reached or here

    rows: list[tuple[str, str]] = []
    unmapped: list[str] = []
    for s in sources:
        reached = resolve(s, frozenset())
        if not reached:
            unmapped.append(s)
        rows += [(s, t) for t in sorted(reached)]
    mapping = pd.DataFrame(rows, columns=LINK_COLUMNS)
    mapping["weight"] = 1.0
    n_targets = mapping.groupby("old_code")["new_code"].transform("size")
    split = n_targets > 1
    if split.any():
        mapping.loc[split, "weight"] = _split_weights(mapping[split], areas, weights)
    mapping = mapping[MAPPING_COLUMNS].sort_values(LINK_COLUMNS, kind="mergesort").reset_index(drop=True)
    status = _status(mapping, targets)
    if unmapped:
        log.warning("%d source code(s) reach no target commune: %s", len(unmapped), ", ".join(unmapped[:10]))
    return Reconciliation(mapping=mapping, status=status, unmapped=unmapped)


def _split_weights(split: pd.DataFrame, areas: pd.Series | None, weights: pd.DataFrame | None) -> pd.Series:
    out = pd.Series(float("nan"), index=split.index)
    problems: list[str] = []
    given = None
    if weights is not None and len(weights):
        w = weights.copy()
        w["old_code"], w["new_code"] = w["old_code"].astype(str), w["new_code"].astype(str)
        sums = w.groupby("old_code")["weight"].sum()
        for old, total in sums.items():
            if abs(total - 1.0) > 1e-6:
                problems.append(f"weights of {old} sum to {total:g}, not 1")
        reach = set(map(tuple, split[LINK_COLUMNS].to_numpy().tolist()))
        for old, new in w[LINK_COLUMNS].itertuples(index=False):
            if old in set(split["old_code"]) and (old, new) not in reach:
                problems.append(f"{old} → {new} is not a split of the code changes")
        given = w.set_index(LINK_COLUMNS)["weight"]
    for old, grp in split.groupby("old_code", sort=True):
        keys = list(zip(grp["old_code"], grp["new_code"], strict=True))
        if given is not None and all(k in given.index for k in keys):
            out[grp.index] = [float(given[k]) for k in keys]
            continue
        if areas is None:
            problems.append(f"{old} is split into {', '.join(grp['new_code'])} but no areas or weights are given")
            continue
        a = pd.to_numeric(grp["new_code"].map(areas), errors="coerce")
        if a.isna().any() or a.sum() <= 0:
            problems.append(f"{old} is split into {', '.join(grp['new_code'])} but their areas are unknown")
            continue
        out[grp.index] = (a / a.sum()).to_numpy()
    if problems:
        raise SchemaError("commune-code reconciliation: " + format_problems(problems)
                          + "; fix the weights table ([cog].weights: old_code,new_code,weight)")
    return out


def _status(mapping: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    rows = []
    by_target = {t: g for t, g in mapping.groupby("new_code", sort=False)}
    for t in targets:
        g = by_target.get(t)
        if g is None:
            rows.append((t, "missing_from_source", ""))
            continue
        srcs = sorted(g["old_code"])
        if (g["weight"] < 1.0 - 1e-12).any():
            st = "split"
        elif srcs == [t]:
            st = "unchanged"
        else:
            st = "merged"
        rows.append((t, st, "+".join(srcs)))
    return pd.DataFrame(rows, columns=["code", "correction_status", "source_codes"])


def reconcile(
    table: pd.DataFrame,
    mapping: pd.DataFrame,
    *,
    values: Sequence[str],
    by: Sequence[str] = (),
    code: str = "code",
) -> pd.DataFrame:
    """Re-key a commune table to the target codes: values × weight, summed per target code.

    Rows whose code is not in the mapping are left out (see :attr:`Reconciliation.unmapped`).
    Other columns than ``code``, ``by`` and ``values`` are dropped. ``table.attrs`` are kept.

    Examples
    --------
    >>> m = pd.DataFrame({"old_code": ["1", "2", "3", "3"], "new_code": ["1", "1", "3", "4"],
    ...                   "weight": [1.0, 1.0, 0.5, 0.5]})
    >>> t = pd.DataFrame({"code": ["1", "2", "3"], "v": [1.0, 2.0, 4.0]})
    >>> reconcile(t, m, values=["v"]).values.tolist()
    [['1', 3.0], ['3', 2.0], ['4', 2.0]]
    """
    by = list(by)
    joined = table[[code, *by, *values]].merge(mapping, left_on=code, right_on="old_code", how="inner")
    for v in values:
        joined[v] = joined[v] * joined["weight"]
    out = (joined.drop(columns=[code]).rename(columns={"new_code": code})
           .groupby([code, *by], sort=True, dropna=False)[list(values)].sum(min_count=1).reset_index())
    out.attrs = dict(table.attrs)
    return out


def parent_status(status: pd.DataFrame, membership: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    """The most severe status of each parent's communes (``level, code, correction_status``)."""
    parts = []
    st = status.set_index("code")["correction_status"]
    for lvl in levels:
        m = membership[["code", lvl]].dropna()
        m = m.assign(sev=m["code"].map(st).map(SEVERITY)).dropna(subset=["sev"])
        if not len(m):
            continue
        worst = m.groupby(lvl)["sev"].max()
        inv = {v: k for k, v in SEVERITY.items()}
        parts.append(pd.DataFrame({"level": lvl, "code": worst.index.astype(str),
                                   "correction_status": [inv[int(v)] for v in worst.to_numpy()]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["level", "code", "correction_status"])
