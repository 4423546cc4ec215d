// cat with small reads: read(0, buf, 7) until end of input (or an error), each chunk written
// to stdout; exit(0).
.global _start
_start:
1: mov x0, 0
  adr x1, buf
  mov x2, 7
  mov x8, 63
  svc 0
  cmp x0, 0
  b.le 2f
  mov x2, x0
  adr x1, buf
  mov x0, 1
  mov x8, 64
  svc 0
  b 1b
2: mov x0, 0
  mov x8, 93
  svc 0
.data
buf: .space 16
