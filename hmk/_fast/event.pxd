from libc.stdint cimport uint8_t, uint16_t, uint64_t


cdef struct Event:  # hmk.hw.events.EVENT_DTYPE: 16 bytes, natural alignment
    uint64_t addr
    uint16_t asid
    uint8_t kind
    uint8_t size
    uint8_t core
    uint8_t pad[3]
