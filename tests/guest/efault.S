// write(1, (void *)16, 5) must fail with EFAULT; exit with -result (14).
.global _start
_start:
  mov x0, 1
  mov x1, 16
  mov x2, 5
  mov x8, 64
  svc 0
  neg x0, x0
  mov x8, 93
  svc 0
