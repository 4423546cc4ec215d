"""The simulated RAM's size: what a run may ask for, and how a size is written."""

DEFAULT_RAM = 512 << 20
# from a tiny board to what this host backs without strain (the RAM is host memory, though
# only the pages the guest touches take any)
RAM_RANGE = (4 << 20, 16 << 30)
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def ram_bytes(size: int | str) -> int:
    """The simulated RAM's size in bytes, from bytes or a text like "512M", "2G" (K, M, G:
    powers of 1024); a whole number of 4 KiB pages within RAM_RANGE, else ValueError."""
    if isinstance(size, str):
        text = size.strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in SIZE_UNITS else ""
        number = text[: len(text) - len(unit)]
        if not number.isdigit():
            raise ValueError(f"ram: not a size: {size!r} (e.g. 512M, 2G)")
        size = int(number) * SIZE_UNITS[unit]
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"ram: a size in bytes or a text like '2G', not {size!r}")
    low, high = RAM_RANGE
    if not low <= size <= high or size % 4096:
        raise ValueError(
            f"ram: {size:,} bytes; give whole 4 KiB pages from {low >> 20} MiB to {high >> 30} GiB"
        )
    return size
