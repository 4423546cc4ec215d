"""Compiled twins of hmk's hot paths (Cython extensions and Numba kernels).

Every module here has a plain-Python reference elsewhere in hmk; tests prove they agree.
"""
