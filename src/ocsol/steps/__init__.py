"""The steps of :func:`ocsol.compute`, one module per source: each is a function from the typed
configuration and the territories to tables (:class:`ocsol.step_common.StepOutput`: tables,
provenance and QA rows, and the change polygons of the OCS GE step).

- :mod:`.territories`: the ``territories`` table (and :func:`~.territories.load_territories`);
- :mod:`.ocsge`: OCS GE vintages and change layers (per département), with the décret's
  thresholds and the fragmentation they allow, and IGN's products (:mod:`.ign_artif`);
- :mod:`.raster`: classified rasters (``raster_proxy``);
- :mod:`.population`: INSEE population, households and jobs (read for the efficiency);
- :mod:`.cerema`: Cerema consumption, the ZAN trajectory and the efficiency (from the population
  step's tables, which :func:`ocsol.compute` passes to it);
- :mod:`.zan`: the net artificialisation trajectory after 2031.

The steps read every file (``ocsol.io``); the engines (:mod:`ocsol.change`, :mod:`ocsol.crosstab`)
and the measures they call take arrays, frames and plain options, never the configuration, and
never import a reader (``tests/test_imports.py``).
"""
