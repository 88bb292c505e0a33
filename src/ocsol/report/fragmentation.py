"""Report section: fragmentation of non-artificial land (an indicator beyond the law, issue 15).

Self-contained: reads the ``fragmentation`` table of the territory and fills the context's
``fragmentation`` text and ``fragmentation`` view. Nothing is shown when the run has no
``[fragmentation]`` section.
"""

from __future__ import annotations

from typing import Any

from . import format as fr

BARRIER_FR = {"matrix": "artificialisation selon la matrice", "thresholds": "artificialisation après seuils"}


def fragmentation(ctx: Any, ind: Any = None) -> None:
    """Fill the fragmentation section of ``ctx`` (effective mesh size, CUT and CBC)."""
    t = ctx.tables.get("fragmentation")
    if t is None or t.empty:  # optional indicator: no section at all (not a missing legal section)
        return
    ctx.available["fragmentation"] = True
    t = t.sort_values(["barrier", "vintage"], kind="mergesort").copy()
    t["barrier_fr"] = t["barrier"].map(BARRIER_FR).fillna(t["barrier"])
    lines = ["### Fragmentation des espaces non artificialisés (indicateur hors obligation légale)",
             "*Indicateur complémentaire, hors obligation légale (R. 2231-1 ne le demande pas) : fragmentation "
             "des espaces non artificialisés par la taille effective de maille (Jaeger 2000 ; méthode CBC de "
             "l'Agence européenne pour l'environnement). Plus la maille est grande, moins les espaces naturels, "
             "agricoles et forestiers sont morcelés.*"]
    for barrier, g in t.groupby("barrier", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        text = (f"Obstacles : {BARRIER_FR.get(barrier, barrier)}. En {int(last['vintage'])}, taille effective de "
                f"maille **{fr.with_unit(last['meff_cbc_km2'], 'km²', decimals=2)}** (méthode CBC), soit "
                f"{fr.number(last['seff_per_1000km2'], decimals=1)} mailles pour 1 000 km².")
        if len(g) > 1:
            text += (f" Évolution depuis {int(first['vintage'])} : "
                     f"{fr.with_unit(last['meff_cbc_km2'] - first['meff_cbc_km2'], 'km²', decimals=2, signed=True)}.")
        lines.append(text)
    ctx.texts["fragmentation"] = "\n\n".join(lines)
    cols = [("vintage", "Millésime", "year"), ("barrier_fr", "Obstacles", "text"),
            ("meff_km2", "Maille effective, découpage (km²)", "ha2"),
            ("meff_cbc_km2", "Maille effective CBC (km²)", "ha2"),
            ("seff_per_1000km2", "Mailles pour 1 000 km²", "num1")]
    import pandas as pd

    ctx.views["fragmentation"] = pd.DataFrame({label: t[src].to_numpy() for src, label, _ in cols})
    ctx.kinds["fragmentation"] = {label: kind for _, label, kind in cols}
