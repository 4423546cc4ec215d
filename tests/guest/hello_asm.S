// write(1, "hello\n", 6); 1024 stores into .bss; exit(42).
.global _start
_start:
  adr x1, msg
  mov x0, 1
  mov x2, 6
  mov x8, 64
  svc 0
  ldr x3, =buf
  mov x4, 0
1: str x4, [x3, x4, lsl 3]
  add x4, x4, 1
  cmp x4, 1024
  b.ne 1b
  mov x0, 42
  mov x8, 93
  svc 0
msg: .ascii "hello\n"
.bss
buf: .space 8192
