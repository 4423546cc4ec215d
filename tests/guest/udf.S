// An undefined instruction: Linux delivers SIGILL (a shell reports status 132).
.global _start
_start:
  udf #0
