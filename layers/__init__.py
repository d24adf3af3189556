"""InnoMap layer model: schema, registry, readers, validation, CRS.

``GDAL_SKIP=VRT`` is set here, before GDAL is loaded by any reader, so that a
user file can never be opened as an OGR VRT (which can read server files).
"""

import os

os.environ.setdefault("GDAL_SKIP", "VRT")
