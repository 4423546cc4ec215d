"""hmk.cpu: the modeled CPU side: loading a program (ELF, initial stack), running and timing it."""
