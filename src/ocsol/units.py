"""Units: areas are m² inside ocsol and hectares in tables (``*_ha``)."""

M2_PER_HA = 10_000.0
