"""corridors: the CAREC transport corridors and Belt and Road routes through Kazakhstan, as sourced data.

Data (sections, key routes, nodes, countries) -> analysis (geodesic lengths, length per country, border
crossings) -> presentation (Folium maps, CLI).
"""

from importlib.metadata import PackageNotFoundError, version

from .data import NotFoundError, countries, key_routes, node, nodes, section, sections

try:
    __version__ = version("corridors")
except PackageNotFoundError:  # running from a source checkout without installation
    __version__ = "0+unknown"

__all__ = ["NotFoundError", "countries", "key_routes", "node", "nodes", "section", "sections", "__version__"]
