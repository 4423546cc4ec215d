// Writes to its own (read-only, executable) code page: must fault with a write access.
.global _start
_start:
  adr x1, _start
  str x0, [x1]
  mov x0, 0
  mov x8, 93
  svc 0
