"""corridors: the CAREC transport corridors and Belt and Road routes through Kazakhstan, as sourced data.

Data (sections, key routes, nodes, countries) -> analysis (geodesic lengths, length per country, border
crossings) -> presentation (Folium maps, CLI).

Names are imported on first use (PEP 562), so ``import corridors`` and ``corridors --help`` stay fast:
geopandas loads with the first data or analysis call, networkx with the first route, folium with the first map.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
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
    from .maps import make_map
    from .places import PlaceError, place
    from .routes import RouteResult, compare, compare_map, network_graph, route
    from .traces import TraceError, analyze_traces, read_traces

_LAZY = {
    **dict.fromkeys(["RouteAnalysis", "RouteError", "analyze", "analyze_corridor", "analyze_many",
                     "corridor_length_by_country", "corridor_summary", "corridors_crossing"], "analysis"),
    **dict.fromkeys(["NotFoundError", "as_feature_collection", "countries", "key_routes", "node", "nodes", "section",
                     "sections"], "data"),
    **dict.fromkeys(["carec_investment_by_country", "fact", "facts", "kazakh_chinese_programme"], "facts"),
    **dict.fromkeys(["RouteFileError", "read_routes", "write_routes"], "io"),
    **dict.fromkeys(["make_map"], "maps"),
    **dict.fromkeys(["PlaceError", "place"], "places"),
    **dict.fromkeys(["RouteResult", "compare", "compare_map", "network_graph", "route"], "routes"),
    **dict.fromkeys(["TraceError", "analyze_traces", "read_traces"], "traces"),
}
_MODULES = {"analysis", "atlas", "basemap", "borders", "cli", "data", "facts", "figures", "geodesy", "graph", "io",
            "maps", "network", "places", "routes", "scale", "style", "timecost", "traces"}
_SHADOWED = {"facts"}  # public functions named like their module: corridors.facts is the function


class _Package(types.ModuleType):
    """The package module: importing the submodule ``corridors.facts`` must not replace the function
    ``corridors.facts`` (Python binds a submodule to its parent's attribute when it is first imported)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the submodule stays in sys.modules["corridors.facts"]
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled by name, like any module (dask and multiprocessing pickle functions that refer to it)."""
        return importlib.import_module, (self.__name__,)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use (``corridors.maps`` and ``make_map`` bring folium)."""
    value: Any
    if name == "__version__":
        value = _version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _MODULES and name not in _SHADOWED:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'corridors' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _MODULES | {"__version__"})


def _version() -> str:
    """The installed distribution's version (importlib.metadata is slow to import: only when asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("corridors")
    except PackageNotFoundError:  # running from a source checkout without installation
        return "0+unknown"

__all__ = [
    "TraceError",
    "analyze_traces",
    "read_traces",
    "timecost",
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
]
