"""Provider facts as data: machine types, prices, network limits."""

from stacklab.catalog.loader import load_catalog
from stacklab.catalog.models import Catalog, MachineType, ProviderCatalog, Virtualization

__all__ = ["Catalog", "MachineType", "ProviderCatalog", "Virtualization", "load_catalog"]
