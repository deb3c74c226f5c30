"""How zones and sites look on the map: a fill, an edge and a text colour per kind of zone area."""

# zones by the kind of their area file; a kind not listed here is drawn in ZONE_OTHER
ZONE_FILL = {"drone_free_zone": (60, 120, 200, 40), "geofence": (210, 60, 60, 50), "control_zone": (230, 170, 60, 28)}
ZONE_EDGE = {"drone_free_zone": (90, 150, 230), "geofence": (230, 80, 80), "control_zone": (235, 180, 80)}
ZONE_TEXT = {"drone_free_zone": (150, 190, 250), "geofence": (255, 190, 190), "control_zone": (250, 215, 150)}
ZONE_LEGEND = {"drone_free_zone": ("drone free zone", "드론특별자유화구역"), "geofence": ("no-fly zone", "비행 금지 구역"),
               "control_zone": ("airport control zone", "관제권")}
ZONE_OTHER = ((160, 160, 180, 30), (170, 170, 190), (210, 210, 225), ("zone", "구역"))
SITE = (255, 210, 90)
