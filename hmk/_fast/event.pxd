from libc.stdint cimport uint8_t, uint16_t, uint64_t


cdef struct Event:  # hmk.hw.events.EVENT_DTYPE: 16 bytes, natural alignment
    uint64_t addr
    uint16_t asid
    uint8_t kind
    uint8_t size
    uint8_t core
    uint8_t pad[3]


cdef inline void put_event(Event* log, Py_ssize_t n, uint64_t addr, uint8_t kind, uint8_t size,
                           uint8_t core) noexcept nogil:
    """Write log[n]: a kernel access (ASID 0, the kernel's) as the Python side records it."""
    log[n].addr = addr
    log[n].asid = 0
    log[n].kind = kind
    log[n].size = size
    log[n].core = core
    log[n].pad[0] = 0
    log[n].pad[1] = 0
    log[n].pad[2] = 0
