# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled twin of `hmk.hw.traces._read_lackey_python`: the same grammar, events and errors.

It scans the bytes once, writing straight into a preallocated EVENT_DTYPE array that grows when
the estimate was short. The grammar and the error messages are the ones in hmk/hw/traces.py; the
tests in tests/test_traces.py hold the two parsers to each other.
"""

from libc.stdint cimport uint8_t, uint16_t, uint64_t
from libc.string cimport memchr

import numpy as np

cimport numpy as cnp
from hmk._fast.shared cimport FETCH, READ, WRITE, Event

cnp.import_array()




cdef enum:
    MAX_SIZE = 255  # the largest access a lackey line may give (an event's size is one byte)

cdef enum Outcome:  # of scanning one line
    OK, SKIP, MALFORMED, WIDE_ADDRESS, BAD_SIZE


cdef inline bint is_blank(uint8_t c) noexcept nogil:
    return c == c' ' or c == c'\t' or c == c'\r'


cdef signed char HEX[256]  # value of a hex digit, -1 for any other byte
for _c in range(256):
    HEX[_c] = int(chr(_c), 16) if chr(_c) in "0123456789abcdefABCDEF" else -1


cdef int scan_line(const uint8_t* s, const uint8_t* limit, const uint8_t** stop, uint8_t* kind,
                   uint64_t* addr, uint64_t* size) noexcept nogil:
    """Parse the line that starts at s and ends before the first newline or at limit, per the
    grammar in hmk/hw/traces.py. On OK, *stop is where the line ends (its newline or limit).
    Scanning and finding the newline in one pass is what makes this fast."""
    cdef uint64_t a = 0, z = 0
    cdef bint wide = False
    cdef signed char d
    cdef uint8_t k
    cdef const uint8_t* p = s
    cdef const uint8_t* q
    while p < limit and is_blank(p[0]):
        p += 1
    if p == limit or p[0] == c'\n':
        return SKIP
    if p + 1 < limit and p[0] == p[1] and (p[0] == c'=' or p[0] == c'-' or p[0] == c'*'):
        return SKIP  # a valgrind message
    k = p[0]
    if k != c'I' and k != c'L' and k != c'S' and k != c'M':
        return MALFORMED
    p += 1
    q = p
    while p < limit and is_blank(p[0]):
        p += 1
    if p == q:
        return MALFORMED  # the kind must be followed by a blank
    q = p
    while p < limit:
        d = HEX[p[0]]
        if d < 0:
            break
        if a >> 60:
            wide = True  # keep scanning: the line may still be malformed, which is reported first
        a = (a << 4) | <uint64_t>d
        p += 1
    if p == q or p == limit or p[0] != c',':
        return MALFORMED
    p += 1
    q = p
    while p < limit and c'0' <= p[0] <= c'9':
        if z <= MAX_SIZE:  # saturate: anything above MAX_SIZE is out of range anyway
            z = z * 10 + (p[0] - c'0')
        p += 1
    if p == q:
        return MALFORMED
    while p < limit and is_blank(p[0]):
        p += 1
    if p != limit and p[0] != c'\n':
        return MALFORMED
    if wide:
        return WIDE_ADDRESS
    if z < 1 or z > MAX_SIZE:
        return BAD_SIZE
    stop[0] = p
    kind[0] = k
    addr[0] = a
    size[0] = z
    return OK


def show_line(line: bytes) -> str:
    """Same as hmk.hw.traces.show_line."""
    text = repr(line[:80].decode("latin-1"))
    return text + "..." if len(line) > 80 else text


cdef object line_error(int outcome, Py_ssize_t number, bytes line):
    shown = show_line(line)
    if outcome == WIDE_ADDRESS:
        return ValueError(f"line {number}: address wider than 64 bits: {shown}")
    if outcome == BAD_SIZE:
        size = int(line.split(b",")[1].strip(b" \t\r"))
        return ValueError(f"line {number}: access size {size} is outside 1..{MAX_SIZE}: {shown}")
    return ValueError(f"line {number}: malformed lackey line: {shown}")


def parse(const uint8_t[::1] data, bint modify_write, dtype):
    """Events of a lackey trace held in `data` (bytes, or any contiguous buffer such as an mmap).

    modify_write: an M line gives a READ and a WRITE (else only a READ).
    dtype: hmk.hw.events.EVENT_DTYPE (passed in to keep this module free of hmk imports)."""
    if dtype.itemsize != sizeof(Event):
        raise ValueError(f"event dtype has {dtype.itemsize} bytes, expected {sizeof(Event)}")
    cdef Py_ssize_t n = data.shape[0]
    # Lackey lines are 14-20 bytes; start near one event a line and grow by half when short.
    cdef Py_ssize_t capacity = n // 14 + 16
    cdef Py_ssize_t count = 0, number = 0
    cdef const uint8_t* base = &data[0] if n else NULL
    cdef const uint8_t* limit = base + n
    cdef const uint8_t* line = base
    cdef const uint8_t* stop
    cdef uint8_t k = 0
    cdef uint64_t addr = 0, size = 0
    cdef int outcome
    cdef Event* ev

    out = np.zeros(capacity, dtype=dtype)
    ev = <Event*>cnp.PyArray_DATA(out)
    while line < limit:
        number += 1
        outcome = scan_line(line, limit, &stop, &k, &addr, &size)
        if outcome == OK:
            if count + 2 > capacity:
                capacity += capacity // 2 + 2
                out.resize(capacity, refcheck=False)  # zero-fills the new tail
                ev = <Event*>cnp.PyArray_DATA(out)
            ev[count].addr = addr
            ev[count].size = <uint8_t>size
            if k == c'I':
                ev[count].kind = FETCH
            elif k == c'S':
                ev[count].kind = WRITE
            else:  # L, or M as a read
                ev[count].kind = READ
            count += 1
            if k == c'M' and modify_write:
                ev[count].addr = addr
                ev[count].size = <uint8_t>size
                ev[count].kind = WRITE
                count += 1
        else:
            stop = <const uint8_t*>memchr(line, c'\n', limit - line)
            if stop == NULL:
                stop = limit
            if outcome != SKIP:
                raise line_error(outcome, number, (<const char*>line)[:stop - line])
        line = stop + 1
    out.resize(count, refcheck=False)
    return out
