"""corridors: the CAREC transport corridors and Belt and Road routes through Kazakhstan, as sourced data.

Data (sections, key routes, nodes, countries) -> analysis (geodesic lengths, length per country, border
crossings) -> presentation (Folium maps, CLI).
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import timecost  # travel time and cost from CAREC's CPMM figures
from .analysis import (
    RouteAnalysis,
    RouteError,
    analyze,
    analyze_corridor,
    analyze_many,
    corridor_length_by_country,
    corridor_summary,
    corridors_crossing,
)
from .data import NotFoundError, as_feature_collection, countries, key_routes, node, nodes, section, sections
from .facts import carec_investment_by_country, fact, facts, kazakh_chinese_programme
from .io import RouteFileError, read_routes, write_routes
from .places import PlaceError, place
from .routes import RouteResult, compare, compare_map, network_graph, route
from .traces import TraceError, analyze_traces, read_traces


def __getattr__(name: str) -> Any:
    """``corridors.maps`` and ``corridors.make_map`` import folium only when first used."""
    if name in ("maps", "make_map"):
        maps = importlib.import_module(".maps", __name__)
        return maps if name == "maps" else maps.make_map
    raise AttributeError(f"module 'corridors' has no attribute {name!r}")


try:
    __version__ = version("corridors")
except PackageNotFoundError:  # running from a source checkout without installation
    __version__ = "0+unknown"

__all__ = [
    "PlaceError",
    "RouteFileError",
    "RouteResult",
    "compare",
    "compare_map",
    "network_graph",
    "place",
    "read_routes",
    "route",
    "write_routes",
    "TraceError",
    "analyze_traces",
    "read_traces",
    "NotFoundError",
    "RouteAnalysis",
    "RouteError",
    "__version__",
    "analyze",
    "analyze_corridor",
    "analyze_many",
    "as_feature_collection",
    "carec_investment_by_country",
    "corridor_length_by_country",
    "corridor_summary",
    "corridors_crossing",
    "countries",
    "fact",
    "facts",
    "kazakh_chinese_programme",
    "make_map",
    "key_routes",
    "node",
    "nodes",
    "section",
    "sections",
    "timecost",
]
