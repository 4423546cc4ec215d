"""Calibration data: the published measurements the model is held against (anchors.toml,
docs/anchors.md) and the instruction counts of arm64 Linux's kernel paths (linux_paths.json,
docs/linux-paths.md, measured with tools/linuxpaths)."""
