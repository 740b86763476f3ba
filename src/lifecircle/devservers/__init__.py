"""Local HTTP servers that behave like the real source APIs, for tests and the demo.

Each runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a background thread
(``start()``/``stop()``, or ``with``; ``port=0`` picks a free port; ``.url``), so clients
are exercised over real sockets — retries, time-outs and Retry-After included.
Standalone: ``python -m lifecircle.devservers registry|amap --data DIR --port P``.
"""
from lifecircle.devservers.amap_server import AmapFaults, AmapServer
from lifecircle.devservers.base import BackgroundHTTPServer
from lifecircle.devservers.overpass_server import OverpassServer
from lifecircle.devservers.registry_server import RegistryFaults, RegistryServer

__all__ = ["AmapFaults", "AmapServer", "BackgroundHTTPServer", "OverpassServer", "RegistryFaults", "RegistryServer"]
