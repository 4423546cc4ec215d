#!/usr/bin/env bash
# Measure the instructions an arm64 Linux 5.10 kernel executes on common paths, end to end:
# fetch Debian's kernel and its debug symbols, build the QEMU plugin and the guest programs,
# boot the kernel under QEMU TCG with the plugin, and write hmk/calibration/linux_paths.json.
#
#   tools/linuxpaths/run.sh              # everything (about 20 minutes, one core busy)
#   STEPS="run parse" tools/linuxpaths/run.sh   # some steps only: deps kernel build run parse
#
# Scratch files (downloads, the extracted kernel, builds, QEMU logs) go to $WORK, outside the
# repository. Needs root for apt-get (deps step) and network access to Debian's archive.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/hmk-linuxpaths}
STEPS=${STEPS:-deps kernel build run parse}
SUITES=${SUITES:-"bullseye bullseye-security"}   # Debian 11: Linux 5.10
CPU=${CPU:-cortex-a76}
MACHINE=${MACHINE:-virt,gic-version=3}
MEM=${MEM:-512}
ROUNDS=${ROUNDS:-2}
BASE_CMDLINE="console=ttyAMA0 nokaslr kpti=1 transparent_hugepage=never rdinit=/init panic=-1"
OUT_JSON=${OUT_JSON:-$REPO/hmk/calibration/linux_paths.json}
# ONLY: a comma-separated list of the guest's tests to run (all when empty), e.g. the socket
# paths alone, measured into another JSON and merged (the `merge` step)
ONLY=${ONLY:-}
# variants run once each; their per-path totals go into the JSON next to the main run
# (VARIANTS=none: no variant)
VARIANTS=${VARIANTS:-"kpti0|kpti=0 nokaslr|
lsm_selinux_only|lsm=selinux|
rseq0|GLIBC_TUNABLES=glibc.pthread.rseq=0|
memcg0|cgroup_disable=memory|"}
[ "$VARIANTS" = none ] && VARIANTS=""

mkdir -p "$WORK"
has() { [[ " $STEPS " == *" $1 "* ]]; }
log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- deps
if has deps; then
  need=()
  command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
  command -v aarch64-linux-gnu-addr2line >/dev/null || need+=(binutils-aarch64-linux-gnu)
  command -v gcc >/dev/null || need+=(gcc)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
  python3 -c "import numpy" 2>/dev/null || pip install numpy
fi

# ---------------------------------------------------------------- kernel
# A private apt configuration (its own sources, lists and cache under $WORK/apt) lists
# Debian's arm64 packages without touching the machine's apt setup or dpkg architectures.
APTDIR=$WORK/apt
export APT_CONFIG=$APTDIR/apt.conf
KDIR=$WORK/kernel
if has kernel; then
  mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial,etc/preferences.d,etc/apt.conf.d,etc/sources.list.d}
  touch "$APTDIR/status"
  # the archive and security mirrors are the ones this machine's apt already uses
  uris=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -oE 'https?://[^ ]+' | sort -u || true)
  ARCHIVE=${ARCHIVE:-$(echo "$uris" | grep -E '/debian/?$' | head -1)}
  SECURITY=${SECURITY:-$(echo "$uris" | grep -E '/debian-security/?$' | head -1)}
  [ -n "$ARCHIVE" ] || { echo "no Debian archive in the apt sources: set ARCHIVE=<url>" >&2; exit 1; }
  : >"$APTDIR/etc/sources.list"
  for s in $SUITES; do
    case $s in
      *-security) url=$SECURITY ;;
      *) url=$ARCHIVE ;;
    esac
    [ -n "$url" ] || continue
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $url $s main" \
      >>"$APTDIR/etc/sources.list"
  done
  cat >"$APT_CONFIG" <<EOF
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
Dir::Etc::Preferences "$APTDIR/etc/preferences";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
Dir::Etc::Parts "$APTDIR/etc/apt.conf.d";
Dir::State::Lists "$APTDIR/lists";
Dir::State::status "$APTDIR/status";
Dir::Cache "$APTDIR/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
EOF
  log "apt-get update (private configuration, arm64, $SUITES)"
  apt-get update -qq
  mkdir -p "$WORK/dl"
  got=""
  skipped=""
  # newest first; the first version whose image and -dbg packages both download wins
  for v in $(apt-cache madison linux-image-arm64 | awk -F'|' '{gsub(/ /,"",$2); print $2}'); do
    abi=$(apt-cache show "linux-image-arm64=$v" | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
    [ -n "$abi" ] || continue
    log "trying $abi ($v)"
    if (cd "$WORK/dl" && apt-get download -qq "$abi=$v" "$abi-dbg=$v" 2>&1); then
      got="$abi $v"
      break
    fi
    skipped="$skipped $abi=$v"
  done
  [ -n "$got" ] || { echo "no linux-image-arm64 version could be downloaded" >&2; exit 1; }
  read -r abi v <<<"$got"
  rm -rf "$KDIR" && mkdir -p "$KDIR"
  img=$(ls "$WORK"/dl/"${abi}"_*"${v}"_arm64.deb | head -1)
  dbg=$(ls "$WORK"/dl/"${abi}"-dbg_*"${v}"_arm64.deb | head -1)
  kver=${abi#linux-image-}
  dpkg-deb --fsys-tarfile "$img" | tar -x -C "$KDIR" "./boot/vmlinuz-$kver" "./boot/config-$kver"
  # only System.map and vmlinux from the debug package (it is mostly module symbols)
  dpkg-deb --fsys-tarfile "$dbg" 2>/dev/null | tar -x -C "$KDIR" --occurrence=1 \
    "./usr/lib/debug/boot/System.map-$kver" "./usr/lib/debug/boot/vmlinux-$kver" || true
  [ -s "$KDIR/usr/lib/debug/boot/vmlinux-$kver" ] || { echo "no vmlinux in $dbg" >&2; exit 1; }
  {
    echo "package=$abi"
    echo "version=$v"
    echo "release=$kver"
    echo "image_deb_sha256=$(sha256sum "$img" | cut -d' ' -f1)"
    echo "dbg_deb_sha256=$(sha256sum "$dbg" | cut -d' ' -f1)"
    echo "skipped='${skipped# }'"
  } >"$KDIR/package.txt"
  log "kernel: $(tr '\n' ' ' <"$KDIR/package.txt")"
fi

# ---------------------------------------------------------------- build
B=$WORK/build
if has build; then
  mkdir -p "$B"
  log "building the plugin and the guest programs"
  gcc -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -o "$B/kcount.so" "$HERE/kcount.c"
  aarch64-linux-gnu-gcc -O2 -static -Wall -o "$B/init" "$HERE/lpinit.c" -lpthread
  aarch64-linux-gnu-gcc -O2 -static -nostdlib -Wall -o "$B/tiny" "$HERE/tiny.c"
  aarch64-linux-gnu-gcc -O2 -static -nostdlib -Wall -DMARK -o "$B/tiny_m" "$HERE/tiny.c"
  aarch64-linux-gnu-gcc -O2 -static -Wall -Wl,-e,lp_entry -o "$B/hello_m" "$HERE/hello.c"
  python3 "$HERE/linuxpaths.py" prepare --kernel "$KDIR" --build "$B"
fi

# ---------------------------------------------------------------- run
kernel_image() { ls "$KDIR"/boot/vmlinuz-* | head -1; }
run_qemu() { # name, kernel command line, init arguments
  local dir=$WORK/runs/$1
  rm -rf "$dir" && mkdir -p "$dir"
  echo "$2 -- $3" >"$dir/cmdline"
  log "run $1: $2 -- $3"
  local t0=$SECONDS
  # -icount shift=0: the guest clock advances 1 ns per instruction (a 1 GHz guest), so timer
  # interrupts fall where a 1 GHz core would see them and runs repeat; sleep=off skips idle time
  timeout 3600 qemu-system-aarch64 -M "$MACHINE" -cpu "$CPU" -smp 1 -m "$MEM" \
    -nographic -no-reboot -icount shift=0,sleep=off \
    -kernel "$(kernel_image)" -initrd "$B/initrd.cpio" -append "$2 -- $3" \
    -plugin "$B/kcount.so,out=$dir/kcount.out,cfg=$B/kcount.cfg" \
    </dev/null >"$dir/console.txt" 2>&1
  grep -q '^@DONE' "$dir/console.txt" || { echo "run $1 did not finish: see $dir/console.txt" >&2; exit 1; }
  echo $((SECONDS - t0)) >"$dir/seconds"
}
if has run; then
  run_qemu main "$BASE_CMDLINE" "rounds=$ROUNDS${ONLY:+ only=$ONLY}"
  while IFS='|' read -r name extra _; do
    [ -n "$name" ] || continue
    cmd=$BASE_CMDLINE
    for word in $extra; do
      key=${word%%=*}
      cmd=$(echo "$cmd" | sed -E "s/(^| )$key(=[^ ]*)?( |$)/\1/; s/  +/ /g; s/ $//")
      cmd="$cmd $word"
    done
    run_qemu "$name" "$cmd" "rounds=1"
  done <<<"$VARIANTS"
fi

# ---------------------------------------------------------------- parse
if has parse; then
  . "$KDIR/package.txt"
  python3 - "$WORK/meta.json" <<EOF
import json, subprocess, sys
qemu = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
gcc = subprocess.run(["aarch64-linux-gnu-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
meta = {
    "kernel": {"package": "$package", "version": "$version", "release": "$release",
               "image_deb_sha256": "$image_deb_sha256", "dbg_deb_sha256": "$dbg_deb_sha256",
               "source": "Debian archive ($SUITES), arm64",
               "listed_but_not_downloadable": "$skipped".split()},
    "qemu": {"version": qemu, "machine": "$MACHINE", "cpu": "$CPU", "smp": 1, "memory_mb": $MEM,
             "accel": "tcg", "icount": "shift=0,sleep=off"},
    "guest_compiler": gcc,
    "command_line": open("$WORK/runs/main/cmdline").read().strip(),
    "rounds": $ROUNDS,
    "reproduce": "tools/linuxpaths/run.sh (see tools/linuxpaths/README.md)",
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
  vargs=()
  while IFS='|' read -r name _; do
    [ -n "$name" ] && [ -d "$WORK/runs/$name" ] && vargs+=(--variant "$name=$WORK/runs/$name")
  done <<<"$VARIANTS"
  mkdir -p "$(dirname "$OUT_JSON")"
  python3 "$HERE/linuxpaths.py" parse --kernel "$KDIR" --build "$B" --run "$WORK/runs/main" \
    --meta "$WORK/meta.json" "${vargs[@]}" --json "$OUT_JSON" --md "$WORK/linux_paths.md"
fi
