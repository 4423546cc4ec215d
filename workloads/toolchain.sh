#!/bin/sh
# Print a fingerprint of the cross toolchain that `make` uses: compiler and linker versions and
# the hashes of the C library and startup files a static link pulls in. Two builds of the same
# sources with the same fingerprint are byte-identical (see README.md, "Reproducible builds").
set -eu
CC=${CC:-aarch64-linux-gnu-gcc}
echo "cc: $("$CC" --version | head -n 1)"
echo "ld: $("$("$CC" -print-prog-name=ld)" --version | head -n 1)"
for f in crt1.o crti.o crtbeginT.o crtend.o crtn.o libc.a libgcc.a libgcc_eh.a; do
    path=$("$CC" -print-file-name="$f")
    if [ -f "$path" ]; then
        echo "$f: $(sha256sum < "$path" | cut -d ' ' -f 1)"
    else
        echo "$f: (not found)"
    fi
done
