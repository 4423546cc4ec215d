"""The faults the guest-syscall fuzzer found (hmk.fuzz), each as Linux answers it, under three
compositions (tests/guest/fuzzfaults.c says what each line checks): host exceptions hmk raised
for a guest (nanosleep's huge times, ids past 2^32, a siginfo a caller made, a clock id), a
hang (a call interrupted at once on the linux composition's scheduler), and errnos that
differed from Linux's (the order of checks: dup3, fstatat, statx, faccessat, mmap, execve,
utimensat, socketpair, accept4, rt_sigprocmask, rt_sigaction, waitid, futex, renameat,
inotify_add_watch, mincore, process_vm_readv, epoll_pwait, a vector's lengths and ranges,
sched_getaffinity, names ending in "/", "." or "..", RLIMIT_FSIZE, lseek's SEEK_DATA, mlock,
epoll's ioctls, sendfile's offset, POSIX timer ids, pidfs's attributes; an absolute path's
dirfd; clone's flags and CLONE_PIDFD; F_SETSIG; a write whose buffer faults part way;
getrandom's flags and partial copy; fsync of a pipe; getgroups; paths past PATH_MAX; the
clocks' table; leases, seals and write hints; locked memory and VMAs merged again; a pidfd's
process group and a reaped process's pidfd; a clone child's death signal and SIGCHLD ignored;
select's bound, poll's result before EINTR, a vector's entries in order, control data past
optmem_max, an open's descriptor before its walk, statx's descriptor shortcut,
rt_sigtimedwait's timeout, mincore's ranges, and more).

LINUX is this machine's Linux (6.18), natively: qemu-aarch64 is no reference for these lines,
since it checks buffers and flags itself before passing a call on (QEMU_DIFFERS: the lines it
answers otherwise, each for that reason); the other lines are checked against it too.
"""

import os

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

LINUX = b"""nanosleep 2^62 s, interrupted: -4, time left at most ktime's: 1
nanosleep bad nsec -22, negative -22
nanosleep interrupted, bad rem: -14
clock_nanosleep absolute, the end of time, interrupted: -4
clock_nanosleep clocks: raw -95 coarse -95 thread cpu -95 tai 0 none -22
timer_create: coarse -95 raw -95 none -22 tai 0
clock_gettime tai 0
setresuid with ids past 2^32: 0
getresuid 0: 5 0 7
setresuid back 0, setuid(-1) -22, setuid 2^32 0
setresgid 0
getresgid 9 0 0
setfsuid 1000: old 0; setresuid(-1,-1,-1) keeps it: 0 1000; setresuid(0,0,0) does not: 0
setgroups with (gid_t)-1: -22; sorted: 0 1 3 5
getgroups: negative -22, huge 0, 0 0
getrandom flags: unknown -22, insecure and random -22, nonblock 8
getrandom past the mapping: 100 (of 1000), unmapped -14, none 0, kernel -14
dup3: bad fd and flags -22, same fd -22, new too big -9
fstatat: bad fd, bad flags -22; AT_EMPTY_PATH, bad fd -9; bad flags, empty -22
statx: bad mask -22, bad buffer -14, missing with a bad buffer -2
faccessat: bad mode, bad fd -22; faccessat2 bad flags -22
fsync: pipe -22 socket -22 eventfd -22 directory 0
fchmod eventfd -95, fchown eventfd -95, fchmod pipe 0
getcwd huge size: 1, too small -34
path past PATH_MAX: fstatat -36 mkdirat -36; empty with a bad dirfd: symlinkat -2
execve: missing, bad argv -2; a directory, bad argv -13
mmap: bad fd before a bad type -9, before length 0 -9
mmap: SHARED_VALIDATE anonymous -22; shared writable of a pipe -13
utimensat: both omitted, bad fd 0; bad times, missing -2
utimensat: fd with flags -22; bad times pointer, bad flags -14
socketpair: bad pointer before a bad family -14; bad flags -22
accept4: bad fd before bad flags -9; not a socket -88
rt_sigprocmask: bad how, bad old -22; bad how, no set 0
waitid: bad options, bad info -14; bad type -22
renameat: missing to a long name -2; long to a missing dir -2; to . -16
renameat: to .. not replacing -17; / -18; slashes -20 -20; exchange, none -2
an absolute path, a bad dirfd: fstatat 0 (relative -9); renameat -9, -2
inotify_add_watch, a bad fd: an unknown bit -22, add and create -9; no bits -22; only IN_ISDIR 1
mincore: read-only vector -14; a hole -12, written before it 1 9; in it -12; past -14
process_vm_readv: nothing local 0, nothing remote 0, nobody -3; negative -22
process_vm_readv: a count's high bits 8, too many -22
a write faulting part way: file 8092; pipe -14, 4096; /dev/null 10
a write faulting part way: socket -14, unconnected -107; eventfd -14, 4 bytes -22
writev: a negative length after a bad address -22
epoll_pwait: bad fd, bad count -9; bad buffer -14; not an epoll -22
sched_getaffinity: a size of 2^63 -22, 2^32 + 8 8; setaffinity, bad mask -14
F_SETSIG 0 F_GETSIG 10, 65 -22
names: mkdir file/ -17; symlink to missing/ -2; mkdir missing/. -2
names: stat file/. -20; unlink . -21; rmdir .. -39
RLIMIT_FSIZE 100: write 150 100, then -27; ftruncate -27
lseek: SEEK_DATA 10 SEEK_HOLE 100, at the end -6
mlock PROT_NONE -12, on fault 0; mprotect PROT_BTI -22
munmap past user space -22; membarrier registrations 0; PR_GET_THP_DISABLE, an argument -22
getdents64, a count past INT_MAX -22; sched_getattr, a size past 32 bits 0
setpgid(INT_MIN) -22; getpriority, high bits 1
ioctl: epoll's unknown -22, its FIOASYNC -25, a pipe's 0
sendfile's offset written back: -29, to no memory -14
timer ids go up: 1
pidfs: trusted.* before any 0, set 0, get 1; user.* -95; list 11
rt_sigaction, a signal with junk above 32 bits: 0
rt_sigaction: bad signal, bad act -14; bad old after the change -14
rt_sigqueueinfo, an unknown layout with bytes past 48: -7
rt_sigqueueinfo SIGCHLD with a caller's siginfo: 0, caught 1 code -1 int 2147483647
a kill's code to another: -1; nobody -3; bad signal to nobody -3, to itself -22
sigaltstack: zero as it is 0; small -12; bad flags -22; set, bad old -14, kept 1
ppoll with a pending signal it unblocks: EINTR 50 of 50, child 1
clone refuses: a new namespace, shared fs -22; thread alone -22; actions alone -22
clone: pidfd detached -22; pidfd and parent tid -22; bad pidfd -14, children -10
clone: the pidfd's child 1 exited 3; the parent's tid 1, exited 4
futex: unknown command -38, a high bit -38; bad timeout -14, negative -22; changed word -11
lease: 2; unlock none -11, read on a writer -11, write 0, then 1; bad -22, unlock 0; a pipe's -22
seals: a tmpfs file's 1; add 0; write -1, grow -1, shrink 0; 12; shared writable map -1; unknown -22
seals: sealed against sealing -1; noexec 32, chmod +x -1; exec and noexec -22
write hints: bad pointer -14, bad hint -22, set 0, get 0: 2
locked: mlock 0; DONTNEED -22, DONTNEED_LOCKED 0; mremap across -14
locked: munlock 0, merged -12; to a hole -12, locked before it -22
pidfd: the group it leads 0, none -3; reaped: poll 0x11, 0x11
clone, no death signal: wait -10, __WCLONE 1 status 3
SIGCHLD ignored: wait -10; wait4(INT_MIN) -3
pselect6 past the file table 0; ppoll, a handler, no room for the result -14 (caught 0)
rt_sigtimedwait, bad time -22, then 10
writev, a negative length before a fault -22
sendmsg, control past optmem_max -105
a socket's security.*: set -95, remove -11; notification pipe -65
openat, no descriptor left, a bad dirfd -24; statx: bad flags, bad fd -22, bad fd -9
mincore's ranges: the kernel's -12, a kernel vector -14
preadv2 of nothing 0; readahead, a negative count -22
copy_file_range from a pidfd -18; ftruncate of a pidfd, large -22, small -95
RLIMIT_FSIZE 2^64 - 2 (negative to a write): write -27, ftruncate 0
xattrs of AT_FDCWD: fsetxattr 0, fgetxattr 1, flistxattr -9, fremovexattr -9
linkat of "" with AT_EMPTY_PATH, a directory -1; F_DUPFD_CLOEXEC, high bits 1
clock_nanosleep, no time: a CPU clock -14, no clock -22; fchmodat2 NULL -14; PIDFD_THREAD 0
SO_NO_CHECK 0, 0: 1; setsockopt, an unknown level -92, UDP's, no value -14
rt signals: queued 0 0 -11, kill 0; SIGUSR2 twice 0 0
rt signals taken: -22 2 2 -45 -11, values -1 10 11 -1
"""

# qemu-aarch64 7.2 answers these itself: it copies nanosleep's time left without checking the
# pointer, checks getgroups' size against its own limit and getrandom's whole buffer before
# the call, computes getcwd's length itself, copies execve's strings before it looks for the
# program, validates mmap's type before the descriptor, makes socketpair's sockets before it
# writes their numbers, checks waitid's options without writing the siginfo, and keeps its own
# alternate stack; it refuses CLONE_PIDFD and does not write a fork's CLONE_PARENT_SETTID tid;
# it checks mincore's vector before the range, and has no process_vm_readv (ENOSYS); it
# copies a write's whole buffer before the call (EFAULT for any fault), and a vector's ranges
# and epoll_pwait's count before the descriptor; it lacks mlock2 and takes PROT_BTI (its CPU
# has BTI), does not write sendfile's offset back after a failure, and numbers POSIX timers
# itself (reusing ids); it knows no write-lifetime hints, makes a clone with no death signal
# a thread of its own, copies a vector's buffers and a message's control data itself, and
# lacks preadv2 and fchmodat2, and checks clock_nanosleep's clock before its time
QEMU_DIFFERS = (
    b"nanosleep interrupted, bad rem",
    b"getgroups:",
    b"getrandom past the mapping",
    b"getcwd huge size",
    b"execve:",
    b"mmap:",
    b"socketpair:",
    b"waitid:",
    b"sigaltstack:",
    b"clone:",
    b"mincore:",
    b"process_vm_readv:",
    b"a write faulting",
    b"writev:",
    b"epoll_pwait:",
    b"mlock PROT_NONE",
    b"sendfile's offset",
    b"timer ids",
    b"write hints:",
    b"clone, no death signal",
    b"sendmsg, control past optmem_max",
    b"writev, a negative length before a fault",
    b"preadv2 of nothing",
    b"clock_nanosleep, no time",
)

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the answers are root's, as hmk's first process is"
)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fuzzfaults")


@needs_root
def test_linux_answers_so(tmp_path_factory):
    assert native_output(tmp_path_factory, "fuzzfaults", since=(6, 18)) == LINUX


@needs_root
def test_qemu_agrees_where_it_can(program):
    out = linux_output(program, tmpfs_dir())

    def common(text):
        return [line for line in text.splitlines() if not line.startswith(QEMU_DIFFERS)]

    assert common(out) == common(LINUX)


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_hmk_answers_as_linux(program, system):
    out, result = run(program, "/tmp", system=system)
    assert (out, result.exit_status, result.fault) == (LINUX, 0, None)
