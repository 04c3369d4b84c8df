"""Network code: resumable downloads, safe archive extraction, dataset fetchers, live capture.

Modules (imported on demand, nothing happens at import time):

- :mod:`stbench.fetch.download` — resumable HTTP downloads with retries and sha256.
- :mod:`stbench.fetch.fetchlog` — the JSON fetch log kept under a data root.
- :mod:`stbench.fetch.tarsafe` — streaming, safe ``.tar.gz`` / ``.tar.xz`` extraction.
- :mod:`stbench.fetch.zipsafe` — zip validation and safe extraction (zip slip, bombs, non-JPEG).
- :mod:`stbench.fetch.megadepth` — ``stbench fetch megadepth``.
- :mod:`stbench.fetch.webcams` — ``stbench fetch webcams`` (AMOS-style monthly zips).
- :mod:`stbench.fetch.capture` — ``stbench capture`` (poll a live webcam JPEG URL).
"""

__all__: list[str] = []
