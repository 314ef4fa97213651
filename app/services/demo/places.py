"""Postcode districts of Peterborough and its neighbours, with their centroids.

Centroids are the approximate geographic centres of each district's populated area
(latitude, longitude in WGS84), good to about a kilometre: enough for "within N miles".
"""

from __future__ import annotations

# outward code, latitude, longitude, post town, local authority (the main one for the district)
DISTRICTS: tuple[tuple[str, float, float, str, str], ...] = (
    ("PE1", 52.5880, -0.2290, "Peterborough", "Peterborough"),
    ("PE2", 52.5560, -0.2590, "Peterborough", "Peterborough"),
    ("PE3", 52.5900, -0.2900, "Peterborough", "Peterborough"),
    ("PE4", 52.6170, -0.2650, "Peterborough", "Peterborough"),
    ("PE5", 52.5750, -0.3500, "Peterborough", "Peterborough"),
    ("PE6", 52.6400, -0.2200, "Peterborough", "Peterborough"),
    ("PE7", 52.5400, -0.2000, "Peterborough", "Peterborough"),
    ("PE8", 52.5200, -0.4600, "Peterborough", "North Northamptonshire"),
    ("PE9", 52.6600, -0.4800, "Stamford", "South Kesteven"),
    ("PE10", 52.7700, -0.3800, "Bourne", "South Kesteven"),
    ("PE11", 52.8000, -0.1600, "Spalding", "South Holland"),
    ("PE12", 52.8000, 0.0500, "Spalding", "South Holland"),
    ("PE13", 52.6600, 0.1600, "Wisbech", "Fenland"),
    ("PE14", 52.6400, 0.2200, "Wisbech", "King's Lynn and West Norfolk"),
    ("PE15", 52.5500, 0.0800, "March", "Fenland"),
    ("PE16", 52.4500, 0.0500, "Chatteris", "Fenland"),
    ("PE19", 52.2300, -0.2700, "St Neots", "Huntingdonshire"),
    ("PE26", 52.4500, -0.1000, "Ramsey", "Huntingdonshire"),
    ("PE27", 52.3300, -0.0700, "St Ives", "Huntingdonshire"),
    ("PE28", 52.3700, -0.2200, "Huntingdon", "Huntingdonshire"),
    ("PE29", 52.3300, -0.1800, "Huntingdon", "Huntingdonshire"),
)

# The council's own area: the districts its personal budgets are for.
COUNCIL_DISTRICTS = ("PE1", "PE2", "PE3", "PE4", "PE5", "PE6", "PE7", "PE8")

# Street names and inward codes used to give demo providers plausible addresses.
STREETS = (
    "Bridge Street",
    "Cowgate",
    "Priestgate",
    "Westgate",
    "Broadway",
    "Lincoln Road",
    "Oundle Road",
    "Thorpe Road",
    "Park Road",
    "London Road",
    "High Street",
    "Church Street",
    "Station Road",
    "Mill Lane",
    "Market Place",
    "Queen Street",
    "Eastfield Road",
    "Fulbridge Road",
)
