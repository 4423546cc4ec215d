"""ARMv8 hardware: profiles, caches, TLBs, page-table walks and their cycle costs."""
