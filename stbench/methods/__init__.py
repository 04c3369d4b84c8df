"""Methods under evaluation: the protocol, the built-ins and the lazy registry.

Nothing is imported until asked for: ``stbench.methods.registry.resolve_method("sift")`` imports
only the SIFT module.
"""

__all__: list[str] = []
