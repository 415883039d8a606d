"""Container runtimes behind one seam (``types.Runtime``): ``oci`` and ``process``."""
