"""Time-varying structure from motion: reconstructions of each scene and of each time span from
a method's matches (pycolmap), scored against the manifest's poses and time spans.

Entry point: :func:`stbench.sfm.run.run_sfm` (``stbench sfm``); protocol in docs/sfm.md.
"""

__all__: list[str] = []
