"""stbench: spatio-temporal feature matching benchmark.

Nothing heavy is imported here: submodules are imported where they are used.
"""

__version__ = "0.1.0"
