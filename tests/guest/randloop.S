// 200,000 iterations of a xorshift-indexed load/add/store over a 4 MiB array; exit 0.
.global _start
_start:
  ldr x3, =buf
  mov x5, 0x1234          // xorshift state
  movz x6, 0x8, lsl 16   // 4 MiB / 8 = 512K words; mask 0x7ffff
  sub x6, x6, 1
  ldr x7, =200000
1:
  eor x5, x5, x5, lsl 13
  eor x5, x5, x5, lsr 7
  eor x5, x5, x5, lsl 17
  and x4, x5, x6
  ldr x9, [x3, x4, lsl 3]
  add x9, x9, 1
  str x9, [x3, x4, lsl 3]
  subs x7, x7, 1
  b.ne 1b
  mov x0, 0
  mov x8, 93
  svc 0
.bss
.align 12
buf: .space 0x400000
