"""Reports of a run: statistics, flame graphs, comparisons."""
