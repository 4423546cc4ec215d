"""The file manager (fsmgr): file descriptors and the file-system calls over hmk.services.vfs.

The tree is hmk.services.rootfs's. Each process has a file table (`FileTable`: descriptors,
working directory); open file descriptions (`OpenFile`: node, flags, position) are shared by
dup'ed and inherited descriptors. Standard streams are console devices whose bytes go to the
run's stdin, stdout and stderr through the console's driver in devhost. Regular files' pages
live in fsmgr's page cache (hmk.services.pagecache), which mappings of the file share. The calls
are in four parts: descriptors here, the data path in hmk.services.fsio (read, write and their
forms), the namespace in hmk.services.fsnames (paths, attributes, directories), the event files
in hmk.services.fsevents (eventfd, timerfd, signalfd) and hmk.services.fsepoll (epoll).

Each `sys_*` method takes the syscall's raw arguments and returns the result or -errno, as
Linux does; user memory goes through the caller's address space (`call.space`, EFAULT on a bad
pointer). A read of an empty pipe (or a write to a full one) blocks the thread until the other
end acts, and the call is then made again (-ERESTARTSYS); if no thread is left to run, the
program ends with SIGKILL and says so rather than hanging the simulator. A write to a pipe with
no reader is EPIPE and a SIGPIPE for the writer.

What each call costs the file manager is the sum of the operations it performs (`costs`, charged
with `work`): their budgets are the instruction counts of the Linux 5.10 functions that do the
same work, measured on arm64 (hmk/calibration/linux_paths.json, docs/linux-paths.md), less the
security modules' hooks (AppArmor's and TOMOYO's: hmk models no security module, and every file
is accessible as to root), or assumptions that say why.
"""

from __future__ import annotations

import struct
import weakref

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    AT_FDCWD,
    EACCES,
    EADDRINUSE,
    EBADF,
    EEXIST,
    EFAULT,
    EFBIG,
    EINTR,
    EINVAL,
    EISDIR,
    ELOOP,
    EMFILE,
    ENODEV,
    ENOENT,
    ENOPKG,
    ENOSPC,
    ENOTDIR,
    ENOTTY,
    ENXIO,
    EOPNOTSUPP,
    EPERM,
    ERESTARTSYS,
    EROFS,
    ESPIPE,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_SETFD,
    F_SETFL,
    F_UNLCK,
    FD_CLOEXEC,
    FIONREAD,
    IN_ATTRIB,
    IN_CLOSE_NOWRITE,
    IN_CLOSE_WRITE,
    IN_MODIFY,
    IN_OPEN,
    MFD_ALLOW_SEALING,
    MFD_CLOEXEC,
    MFD_EXEC,
    MFD_NAME_MAX,
    MFD_NOEXEC_SEAL,
    NOFILE,
    O_ACCMODE,
    O_APPEND,
    O_ASYNC,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    PATH_MAX,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDNORM,
    POLLWRNORM,
    RLIM_INFINITY,
    RLIMIT_FSIZE,
    SIGXFSZ,
)
from hmk.linux.clock import BOOT_TIME_NS, read_timespec
from hmk.linux.strace import signed as _signed
from hmk.services import fsacl
from hmk.services.copies import COPY_LINE, COPY_PAGE, iovec_from_user, log_user, vector_past_user
from hmk.services.devhost import BlockDevice, DevHost, Rtc
from hmk.services.fsattrs import Attributes
from hmk.services.fscopy import Copies
from hmk.services.fsepoll import Epoll, pollable
from hmk.services.fsevents import EventFile, EventFiles
from hmk.services.fsio import FileIO, packet_room, positional
from hmk.services.fslocks import LEASE_COMMANDS, LOCK_COMMANDS, Locks
from hmk.services.fsnames import Namespace, _int
from hmk.services.fsnodes import PIPE_COMMANDS, SpecialFiles
from hmk.services.fsnotify import Inotify, Notify
from hmk.services.fsopen import Opening, _how_error, open_how
from hmk.services.fsowner import NOBODY, OWNER_COMMANDS, fcntl_owner
from hmk.services.fsseals import F_SEAL_EXEC, F_SEAL_SEAL, SEAL_COMMANDS, Seals
from hmk.services.fstypes import Mounts
from hmk.services.fsxattr import ExtendedAttributes
from hmk.services.pagecache import PageCache
from hmk.services.rootfs import build_root
from hmk.services.service import ENTRY, Needs, Service
from hmk.services.sockets import Socket
from hmk.services.vfs import (
    Device,
    Dir,
    File,
    Generated,
    Node,
    Pipe,
    SocketName,
    Special,
    Stream,
    Symlink,
)

SEEK_SET, SEEK_CUR, SEEK_DATA, SEEK_HOLE = 0, 1, 3, 4
F_NOTIFY = 1026  # (F_LINUX_SPECIFIC_BASE + 2)
MAX_NON_LFS = (1 << 31) - 1  # a size a file opened without O_LARGEFILE may have
O_NOTIFICATION_PIPE = 0o200  # (O_EXCL: include/uapi/linux/watch_queue.h)
F_GET_RW_HINT, F_SET_RW_HINT = 1035, 1036  # F_LINUX_SPECIFIC_BASE + 11, + 12
RWH_WRITE_LIFE_EXTREME = 5
# a file table's slots (include/linux/fdtable.h NR_OPEN_DEFAULT: BITS_PER_LONG, embedded),
# then 1 KiB of pointers times a power of two (fs/file.c alloc_fdtable)
FDTABLE_FIRST, FDTABLE_STEP = 64, 128
SEEK_MAX = SEEK_HOLE  # lseek's last whence
# the ioctls every file takes (include/uapi/asm-generic/ioctls.h, include/uapi/linux/fs.h)
FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC, FIOQSIZE = 0x5421, 0x5450, 0x5451, 0x5452, 0x5460
FIGETBSZ, FS_IOC_GETFLAGS = 2, 0x80086601


class OpenFile:
    """An open file description (shared by dup'ed descriptors): node, flags, position."""

    def __init__(self, node: Node, flags: int, pipe_end: str | None = None):
        self.node, self.flags, self.pos, self.pipe_end = node, flags, 0, pipe_end
        self.refs = 0
        self.named: tuple | None = None  # (directory, name) it was opened by, for inotify
        self.epolls: list = []  # the epolls watching it (an entry per item: Linux's f_ep)
        self.owner = NOBODY  # whom its I/O signals would go to (hmk.services.fsowner)
        self.signum = 0  # ...and which (F_SETSIG; 0: SIGIO)
        self.lease = F_UNLCK  # F_SETLEASE's (hmk.services.fslocks)

    @property
    def path_only(self) -> bool:
        """Opened with O_PATH: it names its node (for fstat, a lookup's dirfd, fchdir, dup,
        ...) and opens nothing; the calls that take an open file refuse it (EBADF)."""
        return bool(self.flags & O_PATH)

    @property
    def readable(self) -> bool:
        return self.flags & O_ACCMODE != O_WRONLY and not self.path_only

    @property
    def writable(self) -> bool:
        return self.flags & O_ACCMODE in (O_WRONLY, O_RDWR) and not self.path_only


class FileTable:
    """One process's descriptors and working directory. `closing(table, f)` is told when one
    of its descriptors of the open file `f` is closed (its record locks go: Linux's
    locks_remove_posix), `released(f)` when an open file description's last descriptor goes."""

    def __init__(self, kernel, cwd: Dir, released, closing=None):
        self.k, self.cwd, self.released, self.closing = kernel, cwd, released, closing
        self.fds: dict[int, tuple[OpenFile, bool]] = {}  # fd -> (description, close-on-exec)
        self.poll_waiters: list[int] = []  # threads in a ppoll with nothing ready (a signal,
        # a pipe's activity or the timeout wakes them)
        self.umask = 0o022  # the file-mode creation mask (Linux's fs_struct; inherited at fork)
        self.nofile = NOFILE  # descriptors it may hold: its process's RLIMIT_NOFILE
        self.max_fds = FDTABLE_FIRST  # the slots Linux's fdtable has (select's bound)

    def install(self, fd: int, f: OpenFile, cloexec: bool) -> int:
        f.refs += 1
        self.fds[fd] = (f, cloexec)
        if fd >= self.max_fds:  # expand_fdtable, sized as alloc_fdtable sizes it
            self.max_fds = FDTABLE_STEP * (1 << ((fd + 1) // FDTABLE_STEP).bit_length())
        return fd

    def open(self, node: Node, flags: int, cloexec: bool) -> int:
        """A new open file of `node` (O_RDWR and `flags`; an object of this or another
        service: an event file, a pidfd, a socket) at the lowest free descriptor: the
        descriptor, or -EMFILE."""
        fd = self.lowest_fd()
        return fd if fd < 0 else self.install(fd, OpenFile(node, O_RDWR | flags), cloexec)

    def lowest_fd(self, start: int = 0) -> int:
        fd = start
        while fd in self.fds:
            fd += 1
        return fd if fd < self.nofile else -EMFILE

    def lowest_fds(self, n: int) -> list[int] | int:
        """The `n` lowest free descriptors (the ones `n` installs in turn take), or -EMFILE."""
        out, fd = [], 0
        while len(out) < n:
            fd = self.lowest_fd(fd)
            if fd < 0:
                return fd
            out.append(fd)
            fd += 1
        return out

    def file(self, fd, raw: bool = False) -> OpenFile | None:
        """The open file `fd` names; an O_PATH one only for a call that takes it (`raw`, as
        Linux's fdget_raw: fstat, fstatfs, fchdir, dup, a lookup's dirfd, ...)."""
        entry = self.fds.get(fd)
        if entry is None or entry[0].path_only and not raw:
            return None
        return entry[0]

    def close(self, fd: int) -> int:
        entry = self.fds.pop(fd, None)
        if entry is None:
            return -EBADF
        if self.closing is not None:
            self.closing(self, entry[0])
        self.release(entry[0])
        return 0

    def release(self, f: OpenFile) -> None:
        release(self.k, f, self.released)

    def copy(self) -> FileTable:
        """The child's table after fork: the same open files (shared positions), same cwd."""
        child = FileTable(self.k, self.cwd, self.released, self.closing)
        child.umask, child.nofile = self.umask, self.nofile
        for fd, (f, cloexec) in self.fds.items():
            child.install(fd, f, cloexec)
        return child


def release(k, f: OpenFile, released) -> None:
    """One reference to the open file `f` goes (a descriptor closed, a descriptor in flight
    dropped); with the last, its node hears of it (a pipe end closes, an object that moves its
    own bytes is released) and `released(f)` is told."""
    f.refs -= 1
    if f.refs:
        return
    if isinstance(f.node, Stream):
        f.node.released(f)
    elif f.pipe_end is not None:  # "r", "w", or "rw" (a FIFO opened for both)
        pipe = f.node
        pipe.hup_generation += 1
        if "r" in f.pipe_end:
            pipe.readers -= 1
            k.wake_all(pipe.write_waiters)  # they get EPIPE now
        if "w" in f.pipe_end:
            pipe.writers -= 1
            k.wake_all(pipe.read_waiters)  # they see end of file now
    released(f)


BIG_GROWTH = 1 << 20  # a file growing by more at once is checked against the room there is


class FsMgr(
    FileIO,
    Namespace,
    EventFiles,
    Epoll,
    Attributes,
    Locks,
    Seals,
    SpecialFiles,
    Copies,
    ExtendedAttributes,
    Notify,
    Opening,
    Service,
):
    name = "fsmgr"
    default_class = "IC2"
    # faults in its callers' buffers (memmgr), devices (devhost), sockets (netmgr)
    needs = Needs(calls=("memmgr", "devhost", "netmgr"))
    open_file = OpenFile  # what the mixins make an open file description with
    # Instructions per operation (hmk.services.service: a budget's convention). Sources: the
    # paths and fits of hmk/calibration/linux_paths.json (docs/linux-paths.md), named by key;
    # "less the LSM hooks": without AppArmor's and TOMOYO's (hmk models no security module).
    costs = {
        "call": ENTRY,
        # ---- descriptors
        # a descriptor looked up: __fdget 36 (pread_1_byte; read and write's __fdget_pos takes 44
        # a call, pipe_roundtrip: its file-position lock is not modelled)
        "fdget": 36,
        # a descriptor allocated and installed: get_unused_fd_flags 217 + fd_install 27
        # (open_close_2_components)
        "fd_install": 244,
        # a descriptor closed while its file stays open: close 208 less the entry (dup_close)
        "fd_close": 196,
        # an open file's last reference dropped: the final fput's task work 779 less AppArmor's
        # security_file_free 254, plus close's own share of it (275 there, 208 in dup_close)
        # (open_close_2_components)
        "file_release": 592,
        # a process's table copied at fork: dup_fd 2,373 (fork_exit_wait, three descriptors)
        "table_copy": 2373,
        # a process's table freed at exit beyond its descriptors' closes: exit_files 727
        # (fork_exit_wait) less three closes (3 x fd_close)
        "table_free": 139,
        # assumed: a descriptor's flags read or set under the table's lock (fcntl, ioctl's
        # dispatch, fsync's no-op on a tmpfs): as rt_sigprocmask's own work without its copies,
        # 185 less the entry, _copy_from_user 53 and __arch_copy_to_user 15 (rt_sigprocmask)
        "fcntl": 105,
        # ---- paths
        # the path copied in from user memory: getname 814 + putname 229
        # (open_close_2_components, a 6-byte path; a longer path's extra bytes are in `lookup`)
        "path_copy": 1043,
        # a walk's own work: filename_lookup 1,536 for two components (stat_2_components) less
        # their two lookups (2 x lookup)
        "walk": 808,
        # a component looked up (its name hashed, the directory's permission checked, the
        # dentry found in the hash: lookup_fast 120 of it): fit path_walk_per_component_open,
        # 363.7 (stat's fit: 366.3)
        "lookup": 364,
        # an open file description made: openat of a 2-component path 4,381 less the entry, the
        # path's copy, the descriptor, the walk and two lookups, and the LSM hooks
        # (security_file_alloc 313, security_file_open 335) (open_close_2_components)
        "file_open": 898,
        # a regular file created: openat(O_CREAT) 7,712 of create_close_unlink less openat of
        # an existing file at a path as long, 4,381 (shmem_mknod 1,439, d_alloc_parallel 510);
        # a directory (mkdirat) assumed the same
        "create": 3331,
        # a name removed and its inode freed: unlinkat 5,562 (create_close_unlink) less the
        # entry, the path's copy, the parent's lookup (filename_parentat 1,072) and the last
        # component's (lookup); rmdir assumed the same
        "unlink": 3071,
        # assumed: a rename moves a name from one directory to another, the replaced inode
        # freed: as unlink
        "rename": 3071,
        # a file's attributes: fstat 677 less the entry, the descriptor (__fdget_raw 36) and the
        # LSM hooks (TOMOYO's 107, AppArmor's 53): vfs_getattr and cp_new_stat's struct, filled
        # and copied out (fstat)
        "stat": 469,
        # assumed: faccessat's credential override and the permission check: inode_permission
        # (84, open_close_2_components) + the credentials' check (creds, procmgr's: 210)
        "access": 294,
        # assumed: a link's target fetched: as fcntl (its bytes are a copy's)
        "readlink": 105,
        # assumed: getcwd's references on the root and the directory and the names prepended
        # up the tree: as a walk's own work
        "getcwd": 808,
        # assumed: the working directory swapped (set_fs_pwd: a lock, two references): as fcntl
        "chdir": 105,
        # getdents64's own work (its position lock, iterate_dir, "." and "..", touch_atime):
        # getdents64 of an empty directory 1,474 less the entry, fdget and AppArmor's
        # apparmor_file_permission 90 (getdents_empty_dir)
        "readdir": 1336,
        # a directory entry emitted (the dentry list scanned, the record copied out): fit
        # getdents_per_entry
        "dirent": 671,
        # lseek of a directory 331 less the entry and fdget (getdents_empty_dir)
        "seek": 283,
        # assumed: a size changed (ftruncate, O_TRUNC): as a write's own work, file_write
        "truncate": 356,
        # ---- data
        # rw_verify_area less AppArmor's apparmor_file_permission 90: 171 for a read, 145 for a
        # write (pread_1_byte, pwrite_1_byte): their mean
        "rw_check": 68,
        # the VFS layers of a read or write (ksys_*, vfs_*, new_sync_*): pread64 1,193 less the
        # entry, fdget, rw_verify_area 171 and shmem_file_read_iter 774 (pread_1_byte)
        "vfs_rw": 200,
        # a regular file's read, beyond its pages: shmem_file_read_iter 774 less one page's
        # cache_read, copy_page and copy_line (touch_atime 151 of it) (pread_1_byte)
        "file_read": 185,
        # a regular file's write, beyond its pages: generic_file_write_iter 1,250 less one
        # page's cache_write, copy_page and copy_line (generic_write_checks, file_update_time
        # 125, the inode lock) (pwrite_1_byte)
        "file_write": 356,
        # a page read, beyond its copy: fit pread_per_page 1,744 less copy_page_to_iter's
        # 1,304 a page (shmem_getpage_gfp's page-cache lookup, the page's reference and
        # accessed bit)
        "cache_read": 440,
        # a page written, beyond its copy: fit pwrite_per_page 2,008 less
        # iov_iter_copy_from_user_atomic's 1,263 a page (shmem_write_begin's lookup 358,
        # shmem_write_end 132)
        "cache_write": 745,
        # a page inserted into the page cache (a page allocated and cleared, charged to the
        # memory cgroup, added to the cache and the LRU): fit pwrite_new_page_extra 3,336
        # (pwrite_1_byte_new_page against pwrite_1_byte) less Debian's init_on_alloc clearing
        # of the page (kernel_init_free_pages 301), which Linux's default leaves out
        # (hmk.monolithic.costs does the same)
        "cache_insert": 3035,
        # a page leaving the cache with its file: assumed as a page freed at munmap, the
        # release_pages share of it: fit mmap_touch_per_extra_page's release_pages, 661
        "cache_drop": 661,
        "copy_page": COPY_PAGE,
        "copy_line": COPY_LINE,
        # ---- pipes
        # pipe_read 515 less its copy_page_to_iter 156 (pipe_roundtrip)
        "pipe_read": 359,
        # pipe_write 641 less its copy_page_from_iter 151 and the wake-up 126 (pipe_roundtrip)
        "pipe_write": 364,
        # the other end's wait queue woken: __wake_up_sync_key 126 (pipe_roundtrip)
        "pipe_wake": 126,
        # a read that waits (prepare_to_wait_event, finish_wait, its loop's second look): pipe
        # reads that waited cost 1,574 for two without their schedule
        # (context_switch_roundtrip), 272 each beyond a read that did not wait (515,
        # pipe_roundtrip)
        "pipe_wait": 272,
        # a pipe page allocated (alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT): not cleared): the
        # buddy allocator's __alloc_pages_nodemask 977 less Debian's init_on_alloc clearing
        # (kernel_init_free_pages 302), and its memory-cgroup charge, as mem_cgroup_charge's
        # 227 (anon_write_fault)
        "pipe_page": 903,
        # a pipe made: pipe2 4,257 less the entry, two descriptors (get_unused_fd_flags 434,
        # fd_install 54) and the LSM hooks (security_file_alloc 626) (pipe_create_close)
        "pipe_make": 3131,
        # a pipe freed with its last end: both ends' closes and final fputs, 549 + 3,935, less
        # two descriptors' closes and files' releases as above and the LSM hooks
        # (security_file_free 508) (pipe_create_close)
        "pipe_free": 2400,
        # ---- devices and polling
        # /dev/urandom's bytes: a ChaCha20 block of 64 per line (devhost's random_block)
        "random_block": DevHost.costs["random_block"],
        # assumed: ppoll's own work (poll_initwait, the loop): as vfs_rw
        "poll": 200,
        # assumed: per descriptor polled, fdget and the file's poll method (~60)
        "poll_fd": 96,
        # ---- event files (hmk.services.fsevents)
        # an event file made (an eventfd, a timerfd, a signalfd, an epoll: an anonymous-inode
        # file and its context): alloc_file_pseudo 1,507 less AppArmor's security_file_alloc
        # (626 for two files: 313), and the context's kmalloc, kmem_cache_alloc_trace 226
        # (pipe_create_close)
        "event_file": 1420,
        # an event file's waiters woken: __wake_up_sync_key 126 (pipe_roundtrip), as a pipe's
        "event_wake": 126,
        # a read or wait that waits on an event file: as a pipe read's wait, 272
        # (context_switch_roundtrip, pipe_roundtrip: see pipe_wait)
        "event_wait": 272,
        # assumed: an eventfd's count read or added under its wait queue's lock, and the check
        # for waiters (eventfd_read, eventfd_write beyond the VFS layers and the copy): a sixth
        # of pipe_read's own work (359), which also walks a ring of buffers
        "eventfd": 60,
        # assumed: a timer set (do_timerfd_settime: the hrtimer cancelled, the new expiry
        # computed from the clock and the timer started, hrtimer_start_range_ns's lock and
        # red-black-tree insert): ~300
        "timer_set": 300,
        # assumed: a timer's state read under its lock (a timerfd read's expiration count,
        # timerfd_gettime's time left): as fcntl's locked field access, less its checks: ~60
        "timer_read": 60,
        # assumed: a periodic timer that expired moved past now and started again
        # (hrtimer_forward_now, hrtimer_restart): half a timer_set
        "timer_rearm": 150,
        # a signal dequeued for a signalfd read: dequeue_signal 488 (signal_self_handled)
        "signal_dequeue": 488,
        # assumed: a struct signalfd_siginfo cleared and filled by the siginfo's layout
        # (signalfd_copyinfo; its 128 bytes' copy is charged as lines): ~40
        "siginfo": 40,
        # assumed: an epoll item inserted (ep_insert: two slab allocations, the epitem and its
        # wait entry, as kmem_cache_alloc's 240 each (mmap_munmap), and ~200 for the red-black
        # tree insert, the file's poll with epoll's queueing callback and the list links)
        "epoll_insert": 680,
        # assumed: an item's events changed (ep_modify: stored, the file polled once, the ready
        # list checked): ~a quarter of an insert's own work without its allocations
        "epoll_modify": 150,
        # assumed: an item removed (ep_remove: its wait entries unlinked, the tree erase, the
        # item freed after an RCU grace period): ~half an insert
        "epoll_remove": 340,
        # assumed: epoll_wait's own work (ep_poll's checks of the ready list under its lock,
        # ep_start_scan and ep_done_scan): as ppoll's own work
        "epoll_wait": 200,
        # assumed: an item on the ready list polled (ep_item_poll: the file's poll method, ~60
        # as in poll_fd, and the list moves, ~20)
        "epoll_item": 80,
        # assumed: an event stored for the caller (epoll_put_uevent: two __put_user)
        "epoll_event": 10,
        # ---- attributes, locks, special files, copies, xattrs, inotify (hmk.services.fsattrs,
        # fslocks, fsnodes, fscopy, fsxattr, fsnotify)
        # assumed: a file system's statistics (vfs_statfs: the super block's statfs, tmpfs's
        # counters read under its lock, the struct filled and copied out): as stat's 469
        "statfs": 469,
        # assumed: fallocate's own work beyond the pages it inserts (vfs_fallocate's checks,
        # shmem_fallocate's range set up, file_modified, the size updated): as a write's,
        # file_write's 356
        "fallocate": 356,
        # assumed: an inode's attributes changed (notify_change, setattr_prepare's checks,
        # shmem_setattr): as a size change, truncate's 356
        "setattr": 356,
        # assumed: a lock request: a file_lock from its slab (kmem_cache_alloc's 240,
        # mmap_munmap) and the inode's lock list walked for conflicts and merges (~200)
        "lock": 440,
        # assumed: a lock request that waits (its wait entry, the second look): as a pipe
        # read that waits, pipe_wait's 272
        "lock_wait": 272,
        # assumed: the threads waiting on a file's locks woken: as a pipe's end,
        # __wake_up_sync_key's 126 (pipe_roundtrip)
        "lock_wake": 126,
        # assumed: a pipe's ring resized (pipe_resize_ring: the new ring allocated, as
        # kmem_cache_alloc's 240, and its buffers moved, ~100)
        "pipe_resize": 340,
        # assumed: a splice's own work between two files or a file and a pipe beyond the
        # copy and the pages (do_splice's checks, the internal pipe of do_splice_direct, the
        # buffers linked and released): as the VFS layers of a read and a write, 2 x vfs_rw
        "splice": 400,
        # assumed: an extended attribute looked up (xattr_permission, the handler found by
        # prefix, simple_xattr_get's tree walk): as a component's lookup, 364
        "xattr_get": 364,
        # assumed: an extended attribute set or removed (beyond the lookup: a simple_xattr
        # allocated, kmem_cache_alloc's 240, the tree insert or erase and the old one freed,
        # ~200, fsnotify_xattr)
        "xattr_set": 440,
        # assumed: an attribute's name listed (xattr_list_one: a string copied): ~30
        "xattr_name": 30,
        # assumed: an inotify instance made (an anonymous-inode file, alloc_file_pseudo, and
        # its fsnotify group): as a pipe's making less its second file, half of pipe_make
        "inotify_make": 1566,
        # assumed: a watch added or removed (inotify_new_watch: a mark from its slab, the idr
        # entry, the inode's mark list; or their release): kmem_cache_alloc's 240 and ~200
        "inotify_watch": 440,
        # assumed: an event queued for a watch (fsnotify's walk of the marks, the event
        # allocated with its name, kmem_cache_alloc's 240, and queued): ~340
        "inotify_event": 340,
        # assumed: a read's own work on an inotify instance (its lock, the events taken and
        # freed, beyond their copy): as pipe_read's 359
        "inotify_read": 359,
    }

    def __init__(self, boot):
        super().__init__(boot)
        program = boot.program
        self.vfs = build_root(self, program, boot.bundled, boot.rootfs, boot.mounts)
        self.cache = PageCache(self.k, self.work)
        self.anonymous = weakref.WeakSet()  # shared anonymous mappings' objects, while mapped
        self.tables: dict[int, FileTable] = {}  # pid -> its file table
        self.mounts = Mounts(self.vfs)  # the tree's file systems (hmk.services.fstypes)
        self.lock_waits: dict[int, tuple] = {}  # tcb -> (owner, lock) its F_SETLKW waits for
        self.fifo_opens: dict[int, tuple] = {}  # tcb -> the FIFO open it waits in
        self.cookies = 0  # inotify's rename cookies so far
        # the file manager's own buffer: where procfs's text is made and /dev/urandom's blocks
        # (Linux's seq_file buffer, urandom's block on the stack)
        self.buffer = self.k.frames.alloc(owner="fsmgr")
        self.watching: dict[int, list[list[int]]] = {}  # tcb -> the wait lists its poll joined

    def table(self, call) -> FileTable:
        return self.tables[call.task.pid]

    def running_task(self):
        """The process whose thread is running (procfs's "self")."""
        return self.peers["procmgr"].task_of(self.k.process_of(self.k.running))

    def space_of(self, task):
        return self.peers["memmgr"].space_of(task.proc)

    # ---- processes: start, fork, exec, exit ------------------------------------------------
    def process_started(self, task) -> None:
        """The first process: the standard streams on the console."""
        t = self.tables[task.pid] = FileTable(
            self.k, self.vfs.root, self._released, self.record_locks_closed
        )
        for fd, dev in enumerate(("stdin", "stdout", "stderr")):
            node = self.vfs.root.entries[b"dev"].entries[dev.encode()]
            t.install(fd, OpenFile(node, (O_RDWR, O_WRONLY, O_WRONLY)[fd]), False)

    def process_forked(self, parent, child) -> None:
        self.tables[child.pid] = self.tables[parent.pid].copy()
        self.work(table_copy=1)

    def process_exec(self, task) -> None:
        t = self.tables[task.pid]
        closing = sorted(fd for fd, (_, cloexec) in t.fds.items() if cloexec)
        for fd in closing:
            t.close(fd)
        self.work(fd_close=len(closing))

    def call_interrupted(self, task, tcb: int) -> None:
        """A signal's handler ends the thread's wait in a lock or a FIFO's open."""
        self.lock_call_over(tcb)
        self.fifo_open_over(tcb)

    def process_exited(self, task) -> None:
        for tcb in self.k.threads_of(task.proc):
            self.call_interrupted(task, tcb)
            self.stop_watching(tcb)
        t = self.tables.pop(task.pid)
        fds = sorted(t.fds)
        for fd in fds:
            t.close(fd)
        self.work(table_free=1, fd_close=len(fds))

    def executable(self, task, path: bytes, from_user: bool = True):
        """(contents, absolute path) of the program at `path` for execve, or -errno: its
        bytes, or the host file that holds them (File.source; hmk.cpu.elf reads either). The
        file manager's work: the path copied in (`from_user`: execve's path; a dynamic
        loader's comes from the program's file) and walked, and the file opened and released."""
        before = self.vfs.lookups
        node, _, _ = self.vfs.walk(self.tables[task.pid].cwd, path)
        lookups = self.vfs.lookups - before
        with self.working(path_copy=int(from_user), walk=1, lookup=lookups) as ops:
            if isinstance(node, int):
                return -node
            if node is None:
                return -ENOENT
            if not isinstance(node, File) or isinstance(node, Generated):
                return -EACCES
            if not node.mode & 0o111:
                return -EACCES
            ops.update(file_open=1, file_release=1)
            return node.source, self.vfs.path_of(node)

    # ---- open files going away -----------------------------------------------------------
    def _released(self, f: OpenFile) -> None:
        """An open file description's last descriptor went: it is released; a pipe whose ends
        are both gone is freed (its pages too); a file with no name left may leave the cache."""
        node = f.node
        ops = {"file_release": 1}
        self.locks_released(f)
        if not f.path_only:  # (nothing was opened)
            self.notify(node, IN_CLOSE_WRITE if f.writable else IN_CLOSE_NOWRITE, named=f.named)
        if isinstance(node, Pipe) and node.readers == 0 and node.writers == 0:
            for pa in node.frames.values():
                self.k.frames.free(pa)
            node.frames.clear()
            node.buffer.clear()  # a named pipe's bytes and size go with its last end
            node.packets.clear()
            node.start, node.capacity = 0, Pipe.CAPACITY
            ops["pipe_free"] = 1
        self.work(**ops)
        self.unwatch(f)
        self.forget(node)

    def forget(self, node: Node) -> None:
        """A regular file (or unnamed shared object) that has no name: once nothing opens or
        maps it either, its pages leave the page cache (`cache_drop` each) and the memory
        manager drops its references to them. A node with no name that nothing opens tells
        its watches (IN_DELETE_SELF)."""
        if node.watches:
            self.notify_gone(node)
        if not isinstance(node, File) or node.nlink:
            return
        if any(f.node is node for t in self.tables.values() for f, _ in t.fds.values()):
            return
        mm = self.peers["memmgr"]
        if any(v.file and v.file[0] is node for s in mm.spaces.values() for v in s.vmas):
            return
        frames = self.cache.evict(node)
        for pa in frames:
            mm.release(pa)
        if frames:
            self.work(cache_drop=len(frames))

    # ---- opening and closing -------------------------------------------------------------
    def sys_openat(self, call, dirfd, path_ptr, flags, mode, *_):
        if call.resumed and self.k.running in self.fifo_opens:  # a FIFO's open that waited
            return self.fifo_open_again(call, flags)
        flags, mode = open_how(flags, mode)
        err = _how_error(flags, mode, 0)  # before the path (build_open_flags)
        if err:
            return err
        found = self._lookup(call, dirfd, path_ptr, not flags & O_NOFOLLOW, opening=True)
        if isinstance(found, int):
            return found
        return self._open(call, found, flags, mode)

    def _open(self, call, found, flags: int, mode: int) -> int:
        """The open of what a lookup `found` ((node, parent, name)), for openat and openat2."""
        t = self.table(call)
        with self.working() as ops:
            node, parent, name = found
            acc = flags & O_ACCMODE
            fd = t.lowest_fd()  # Linux's get_unused_fd_flags comes before the open
            if fd < 0:
                return fd
            if node is None:
                if not flags & O_CREAT:
                    return -ENOENT
                if parent.readonly:
                    return -EROFS
                node = self.made(call, parent, name, File(perm=mode & 0o777))
                ops.update(create=1)
            elif flags & O_CREAT and flags & O_EXCL:
                return -EEXIST
            if flags & O_PATH:  # nothing is opened: any kind of node, the link itself
                if flags & O_DIRECTORY and not isinstance(node, Dir):
                    return -ENOTDIR
                ops.update(file_open=1, fd_install=1)
                f = OpenFile(node, flags & ~O_CLOEXEC)
                f.named = (parent, name)
                return t.install(fd, f, bool(flags & O_CLOEXEC))
            if isinstance(node, Symlink):
                return -ELOOP  # O_NOFOLLOW on a link
            if isinstance(node, SocketName):
                return -ENXIO  # a socket is reached by connect, not open
            if isinstance(node, Dir):
                if acc != 0 or flags & O_CREAT:
                    return -EISDIR
            elif flags & O_DIRECTORY:
                return -ENOTDIR
            if isinstance(node, Pipe | Special):  # a named pipe, a device or socket node
                return self.open_special(call, node, flags, ops)
            if acc != 0 and node.readonly:
                return -EROFS
            ops.update(file_open=1, fd_install=1)
            f = OpenFile(node, flags & ~O_CLOEXEC)
            f.named = (parent, name)
            self.notify(node, IN_OPEN, named=f.named)
            if flags & O_TRUNC and acc != 0 and isinstance(node, File):
                self._resize(node, 0, f.named)
                ops.update(truncate=1)
            return t.install(fd, f, bool(flags & O_CLOEXEC))

    def wall_ns(self) -> int:
        """The time files are stamped with: CLOCK_REALTIME, in ns since the epoch."""
        return BOOT_TIME_NS + self.k.now_ns()

    def sys_memfd_create(self, call, name_ptr, flags, *_):
        """An anonymous file: a regular file with no name in any directory (its pages in the
        page cache like any file's, freed when its last descriptor and mapping go). Its name
        (at most 249 bytes) is only a label. Its seals (hmk.services.fsseals): none with
        MFD_ALLOW_SEALING, F_SEAL_EXEC with MFD_NOEXEC_SEAL (and no execute bits), else
        F_SEAL_SEAL. MFD_HUGETLB is refused, as by a kernel without hugetlbfs (EINVAL)."""
        if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC):
            return -EINVAL
        if flags & MFD_EXEC and flags & MFD_NOEXEC_SEAL:
            return -EINVAL
        name = call.space.read_cstring(name_ptr, limit=PATH_MAX)
        if name is None:
            return -EFAULT
        if len(name) > MFD_NAME_MAX:
            return -EINVAL
        t = self.table(call)
        with self.working(create=1, file_open=1, fd_install=1):
            fd = t.lowest_fd()
            if fd < 0:
                return fd
            node = File(perm=0o666 if flags & MFD_NOEXEC_SEAL else 0o777)
            node.seals = (
                F_SEAL_EXEC if flags & MFD_NOEXEC_SEAL
                else 0 if flags & MFD_ALLOW_SEALING
                else F_SEAL_SEAL
            )  # fmt: skip
            node.nlink, node.mtime = 0, self.wall_ns()
            node.uid, node.gid = call.task.uids[1], call.task.gids[1]
            return t.install(fd, OpenFile(node, O_RDWR), bool(flags & MFD_CLOEXEC))

    def sys_close(self, call, fd, *_):
        with self.working() as ops:
            err = self.table(call).close(_int(fd))
            ops.update(fd_close=int(not err), fdget=int(bool(err)))
            return err

    def sys_dup(self, call, fd, *_):
        with self.working(fdget=1) as ops:
            t = self.table(call)
            f = t.file(_int(fd), raw=True)
            if f is None:
                return -EBADF
            new = t.lowest_fd()
            if new < 0:
                return new
            ops.update(fd_install=1)
            return t.install(new, f, False)

    def sys_dup3(self, call, old, new, flags, *_):
        with self.working(fdget=1) as ops:
            t = self.table(call)
            old, new = _int(old), _int(new)
            if old == new or flags & 0xFFFFFFFF & ~O_CLOEXEC:  # Linux's order (ksys_dup3)
                return -EINVAL
            if not 0 <= new < t.nofile:
                return -EBADF
            f = t.file(old, raw=True)
            if f is None:
                return -EBADF
            if new in t.fds:
                t.close(new)
                ops.update(fd_close=1)
            ops.update(fd_install=1)
            return t.install(new, f, bool(flags & O_CLOEXEC))

    def sys_fcntl(self, call, fd, cmd, arg, *_):
        cmd &= 0xFFFFFFFF  # an unsigned int
        with self.working(fdget=int(not call.resumed)) as ops:
            t = self.table(call)
            fd = _int(fd)
            entry = t.fds.get(fd)
            if entry is None:
                return -EBADF
            f, cloexec = entry
            if f.path_only and cmd not in (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL):
                return -EBADF  # (Linux's check_fcntl_cmd)
            ops.update(fcntl=int(not call.resumed))
            if cmd in LOCK_COMMANDS:
                return self.fcntl_lock(call, f, cmd, arg, ops)
            if cmd in (F_GET_RW_HINT, F_SET_RW_HINT):
                return self._write_hint(call, f.node, cmd, arg)
            if cmd in SEAL_COMMANDS:
                return self.fcntl_seals(call, f, cmd, arg)
            if cmd in LEASE_COMMANDS:
                return self.fcntl_lease(call, f, cmd, arg)
            if cmd in PIPE_COMMANDS:
                return self.fcntl_pipe(call, f, cmd, arg, ops)
            if cmd in OWNER_COMMANDS:
                return fcntl_owner(self.peers["procmgr"], call.space, f, cmd, arg)
            if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
                arg = _int(arg)  # (an int: fcntl's argi)
                if not 0 <= arg < t.nofile:
                    return -EINVAL
                new = t.lowest_fd(arg)
                if new < 0:
                    return new
                ops.update(fd_install=1)
                return t.install(new, f, cmd == F_DUPFD_CLOEXEC)
            if cmd == F_GETFD:
                return FD_CLOEXEC if cloexec else 0
            if cmd == F_SETFD:
                t.fds[fd] = (f, bool(arg & FD_CLOEXEC))
                return 0
            if cmd == F_GETFL:
                return f.flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH)
            if cmd == F_SETFL:
                f.flags = (f.flags & ~(O_APPEND | O_NONBLOCK)) | (arg & (O_APPEND | O_NONBLOCK))
                return 0
            if cmd == F_NOTIFY:  # dnotify: a directory's watch (kept: its SIGIO is not sent)
                if not arg & 0x7FFFFFFF:
                    return 0  # no events (DN_MULTISHOT at most): the watch goes
                if not isinstance(f.node, Dir):
                    return -ENOTDIR
                f.owner = ("tgid", call.task.pid)
                return 0
            return -EINVAL

    def _write_hint(self, call, node, cmd: int, arg: int) -> int:
        """F_GET_RW_HINT and F_SET_RW_HINT: the inode's write-lifetime hint, a u64 at `arg`
        (the owner's or root's to set: EPERM; RWH_WRITE_LIFE_NOT_SET to _EXTREME: EINVAL)."""
        if cmd == F_GET_RW_HINT:
            return 0 if call.space.write(arg, struct.pack("<Q", node.write_hint)) else -EFAULT
        if call.task.uids[1] not in (0, getattr(node, "uid", 0)):
            return -EPERM
        raw = call.space.read(arg, 8)
        if raw is None:
            return -EFAULT
        hint = struct.unpack("<Q", raw)[0]
        if hint > RWH_WRITE_LIFE_EXTREME:
            return -EINVAL
        node.write_hint = hint
        return 0

    def sys_pipe2(self, call, fds_ptr, flags, *_):
        t = self.table(call)
        if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE):
            return -EINVAL
        if flags & O_NOTIFICATION_PIPE:
            return -ENOPKG  # no watch queues: a kernel without CONFIG_WATCH_QUEUE's answer
        r, w = t.lowest_fd(), None
        if r < 0:
            return r
        t.fds[r] = None  # hold the slot while the second is found
        w = t.lowest_fd()
        del t.fds[r]
        if w < 0:
            return w
        with self.working(pipe_make=1) as ops:
            if not call.space.write(fds_ptr, struct.pack("<ii", r, w)):
                return -EFAULT
            log_user(self.k.mem, call.space, fds_ptr, 8, WRITE)
            pipe = Pipe()
            pipe.readers = pipe.writers = 1
            nb = flags & (O_NONBLOCK | O_DIRECT)  # O_DIRECT: packets (hmk.services.fsio)
            t.install(r, OpenFile(pipe, nb, "r"), bool(flags & O_CLOEXEC))
            t.install(w, OpenFile(pipe, O_WRONLY | nb, "w"), bool(flags & O_CLOEXEC))
            ops.update(fd_install=2)
            return 0

    # ---- descriptors: position, size, control --------------------------------------------
    def _io_file(self, call, fd, pos):
        """The open file for a read or write (`pos` not None: positional), or -errno (a
        negative position before a bad descriptor, as Linux checks them)."""
        t = self.table(call)
        if pos is not None and _signed(pos) < 0:
            return -EINVAL
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        node = f.node
        if pos is not None and isinstance(node, Stream) and node.pidfs:
            return -EINVAL  # not read or written at all
        if pos is not None and not positional(node):
            return -ESPIPE  # (a directory is positional: reads are EISDIR, writes EBADF)
        return f

    def _iov(self, call, iov, iovcnt):
        """The vector as import_iovec copies and checks it: at most UIO_MAXIOV entries, no
        negative length (EINVAL), none past user space (EFAULT)."""
        iovcnt &= 0xFFFFFFFF  # import_iovec's unsigned int
        if not 0 <= iovcnt <= 1024:
            return -EINVAL
        vec = iovec_from_user(call.space, iov, iovcnt)
        if isinstance(vec, int):
            return vec  # (every length is checked as it is copied, then every range)
        log_user(self.k.mem, call.space, iov, 16 * iovcnt, READ)
        self.work()  # the vector's lines, charged before a fault or a request takes them
        if vector_past_user(vec):
            return -EFAULT
        return vec

    def sys_lseek(self, call, fd, offset, whence, *_):
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if _int(whence) > SEEK_MAX or _int(whence) < 0:
                return -EINVAL  # before the file's own llseek (ksys_lseek)
            if isinstance(f.node, EventFile | Inotify):
                return f.pos  # Linux's noop_llseek
            if isinstance(f.node, Device) and f.node.memory:
                return 0  # null_lseek, zero_lseek: nothing moves
            if isinstance(f.node, (Pipe, Device, Stream)):
                return -ESPIPE
            whence, offset = _int(whence), _signed(offset)
            if isinstance(f.node, Dir | Generated) and whence not in (SEEK_SET, SEEK_CUR):
                return -EINVAL  # dcache_dir_lseek, seq_lseek: no end to seek from
            if whence in (SEEK_DATA, SEEK_HOLE):  # a file held whole is all data
                if not 0 <= offset < f.node.size:
                    return -ENXIO
                new = offset if whence == SEEK_DATA else f.node.size
            else:
                new = (0, f.pos, f.node.size)[whence] + offset
            if new < 0:
                return -EINVAL
            ops.update(seek=1)
            f.pos = new
            return new

    def sys_ftruncate(self, call, fd, length, *_):
        if _signed(length) < 0:
            return -EINVAL  # before the descriptor (do_ftruncate)
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if isinstance(f.node, Stream) and f.node.pidfs:  # (a regular file, opened without
                # O_LARGEFILE: past 2^31 - 1 bytes EINVAL; else pidfs has no setattr)
                return -EINVAL if _signed(length) > MAX_NON_LFS else -EOPNOTSUPP
            if not isinstance(f.node, File) or not f.writable or _signed(length) < 0:
                return -EINVAL
            if f.node.size < _signed(length) > self.fsize_limit(call):
                return self.too_big(call)
            if err := self.sealed_resize(f.node, _signed(length)):
                return err
            if not self._fits(f.node, _signed(length)):
                return -ENOSPC
            self._resize(f.node, _signed(length), f.named)
            ops.update(truncate=1)
            return 0

    def _fits(self, node: File, size: int, limit: int | None = None) -> bool:
        """May `node` grow to `size` bytes? Files are kept whole in the host's memory (a hole
        is zeros), so a growth of more than BIG_GROWTH bytes at once (a seek far out, a
        truncate up) must leave all in-memory files within `limit` (default: a tmpfs's
        size, half the RAM as Linux's default), and no file may pass that size; Linux would
        keep such a hole free."""
        limit = self.dense_limit() if limit is None else limit
        current = len(node._data) if node._data is not None else node.size
        if size > max(current, limit):
            return False
        if size - current <= BIG_GROWTH:
            return True
        held = sum(len(n._data) for n in self._files_in_memory() if n is not node)
        return held + size <= limit

    def _files_in_memory(self):
        for fs in list(self.mounts.at.values()):
            for n in self.mounts.nodes(fs):
                if isinstance(n, File) and n._data is not None:
                    yield n
        yield from self.anonymous

    def fsize_limit(self, call) -> int:
        """The most bytes a file the caller writes or resizes may hold (RLIMIT_FSIZE)."""
        return self.peers["procmgr"].limit(call.task, RLIMIT_FSIZE)[0]

    def write_limit(self, call) -> int:
        """RLIMIT_FSIZE as a write checks it (generic_write_check_limits takes it as a signed
        loff_t: a finite limit of 2^63 or more is negative, and every write is EFBIG)."""
        limit = self.fsize_limit(call)
        return limit - (1 << 64) if limit != RLIM_INFINITY and limit >> 63 else limit

    @staticmethod
    def too_big(call) -> int:
        """A file would grow past the caller's RLIMIT_FSIZE: it is sent SIGXFSZ, and the call
        is EFBIG (inode_newsize_ok, generic_write_check_limits)."""
        call.task.signals.post(SIGXFSZ)
        return -EFBIG

    def dense_limit(self) -> int:
        """The most a file may hold: hmk keeps a file's bytes whole (no holes), so a size
        past a tmpfs's (half the machine's memory, Linux's default) has no room (ENOSPC),
        where Linux's tmpfs would keep a hole."""
        return len(self.k.ram) // 2

    def _resize(self, node: File, length: int, named=None) -> None:
        """Truncate or zero-extend the file (stores through shared mappings first); its
        cached pages follow."""
        self._sync(node)
        data = node.data
        del data[length:]
        data.extend(b"\0" * (length - len(data)))
        node.mtime = self.wall_ns()
        self.cache.refresh(node)
        self.notify(node, IN_MODIFY, named=named)

    def sys_ioctl(self, call, fd, request, arg, *_):
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            ops.update(fcntl=1)
            node, devhost, request = f.node, self.peers["devhost"], request & 0xFFFFFFFF
            generic = self._generic_ioctl(call, fd, f, request, arg)
            if generic is not None:
                return generic
            if isinstance(node, BlockDevice | Rtc):
                return devhost.ioctl(call.space, node, request, arg)
            if isinstance(node, Stream):  # a socket's, an event file's own
                return node.ioctl(call, f, request, arg)
            if isinstance(node, Pipe) and request == FIONREAD:  # the bytes in it (pipe_ioctl)
                return 0 if call.space.write(arg, struct.pack("<i", len(node.buffer))) else -EFAULT
            if isinstance(node, Device) and node.console:
                devhost.control(call.task.proc)
            return -ENOTTY  # no terminals: the standard streams are files or pipes to hmk

    def _generic_ioctl(self, call, fd, f, request: int, arg: int) -> int | None:
        """The requests every file takes (Linux's do_vfs_ioctl), or None: the file's own.
        Close-on-exec and O_NONBLOCK set or cleared; O_ASYNC (kept for a pipe, a socket, an
        inotify instance; a change for any other file is ENOTTY); the size (FIOQSIZE: of a
        file, a directory or a link only) and the bytes left to read (FIONREAD) of a regular
        file; the block size; the inode flags of a file of a tmpfs (none set)."""
        t, node = self.table(call), f.node
        space = call.space
        regular = isinstance(node, File) and not isinstance(node, Generated)
        if request in (FIOCLEX, FIONCLEX):
            t.fds[_int(fd)] = (f, request == FIOCLEX)
            return 0
        if request in (FIONBIO, FIOASYNC):
            raw = space.read(arg, 4)
            if raw is None:
                return -EFAULT
            on = struct.unpack("<i", raw)[0] != 0
            if request == FIOASYNC:  # a change needs a file with a fasync method
                if on == bool(f.flags & O_ASYNC):
                    return 0
                if not isinstance(node, Pipe | Socket | Inotify):
                    return -ENOTTY
                f.flags ^= O_ASYNC  # (kept; the SIGIO it asks for is not sent)
                return 0
            f.flags = f.flags | O_NONBLOCK if on else f.flags & ~O_NONBLOCK
            return 0
        if request == FIOQSIZE:
            if not isinstance(node, File | Dir | Symlink):
                return -ENOTTY
            size = node.size if isinstance(node, File) else 0
            return 0 if space.write(arg, struct.pack("<q", size)) else -EFAULT
        if request == FIGETBSZ:
            return 0 if space.write(arg, struct.pack("<i", PAGE_SIZE)) else -EFAULT
        if request == FIONREAD and regular:
            left = max(node.size - f.pos, 0)
            return 0 if space.write(arg, struct.pack("<i", left & 0x7FFFFFFF)) else -EFAULT
        tmpfs = isinstance(node, File | Dir) and self.mounts.of(node).memory
        if request == FS_IOC_GETFLAGS and tmpfs:
            return 0 if space.write(arg, struct.pack("<i", 0)) else -EFAULT
        return None

    def sys_fsync(self, call, fd, *_):
        """Nothing to write out in memory; a file with no fsync of its own (a pipe, a socket,
        a device, an event file: Linux's f_op->fsync is NULL) is EINVAL."""
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if isinstance(f.node, Generated) or not isinstance(f.node, File | Dir | BlockDevice):
                return -EINVAL
            ops.update(fcntl=1)
            return 0

    sys_fdatasync = sys_fsync

    def sys_syncfs(self, call, fd, *_):
        with self.working(fdget=1) as ops:  # memory-backed file systems: nothing to write out
            if self.table(call).file(_int(fd)) is None:
                return -EBADF
            ops.update(fcntl=1)
            return 0

    def sys_sync(self, call, *_):
        with self.working(fcntl=1):  # every file system visited: none holds dirty data
            return 0

    def sys_fadvise64(self, call, fd, offset, length, advice, *_):
        """An access-pattern hint: checked, then nothing to do (everything is in memory)."""
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if isinstance(f.node, Pipe):
                return -ESPIPE  # a FIFO's: any other file takes the hint
            if not 0 <= _int(advice) <= 5 or _signed(length) < 0:
                return -EINVAL
            ops.update(fcntl=1)
            return 0

    def sys_umask(self, call, mask, *_):
        with self.working(fcntl=1):
            t = self.table(call)
            old, t.umask = t.umask, mask & 0o777
            return old

    def sys_truncate(self, call, path_ptr, length, *_):
        if _signed(length) < 0:
            return -EINVAL  # before the path (do_sys_truncate)
        found = self._lookup(call, AT_FDCWD, path_ptr)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        with self.working() as ops:
            if isinstance(node, Dir):
                return -EISDIR
            if not isinstance(node, File) or _signed(length) < 0:
                return -EINVAL
            if node.readonly:
                return -EROFS
            if node.size < _signed(length) > self.fsize_limit(call):
                return self.too_big(call)
            if err := self.sealed_resize(node, _signed(length)):
                return err
            if not self._fits(node, _signed(length)):
                return -ENOSPC
            self._resize(node, _signed(length))
            ops.update(truncate=1)
            return 0

    def sys_fchmod(self, call, fd, mode, *_):
        with self.working(fdget=1):
            f = self.table(call).file(_int(fd))
            return -EBADF if f is None else self._chmod(f.node, mode)

    @staticmethod
    def unchangeable(node) -> bool:
        """An anonymous or pidfs inode: no mode or owner to set (EOPNOTSUPP)."""
        return isinstance(node, Stream) and (node.anonymous or node.pidfs)

    def sys_fchmodat(self, call, dirfd, path_ptr, mode, *_):
        found = self._lookup(call, dirfd, path_ptr)
        if isinstance(found, int):
            return found
        return -ENOENT if found[0] is None else self._chmod(found[0], mode)

    def _chmod(self, node, mode: int) -> int:
        """A node's permission bits set (every file here is the caller's: no owner check)."""
        if self.unchangeable(node):
            return -EOPNOTSUPP
        if node.readonly:
            return -EROFS
        if err := self.sealed_mode(node, mode):
            return err
        self.work(access=1)
        node.mode = node.mode & ~0o7777 | mode & 0o7777
        if node.xattrs and fsacl.ACCESS in node.xattrs:  # its ACL follows (posix_acl_chmod)
            node.xattrs[fsacl.ACCESS] = fsacl.chmod(node.xattrs[fsacl.ACCESS], node.mode)
        self.notify(node, IN_ATTRIB)
        return 0

    def _poll_entry(self, call, timeout, sigmask, size) -> int | None:
        """ppoll's and pselect6's first steps, in Linux's order: the timeout copied in and
        checked, the call's signal mask set (until it ends): the timeout in ns (None: none),
        or -errno."""
        wait = None
        if timeout:
            wait = read_timespec(call.space, timeout)
            if wait is None or wait < 0:
                return -EFAULT if wait is None else -EINVAL
        if not call.resumed:
            err = call.task.signals.mask_while_waiting(call.space, sigmask, size)
            if err:
                return err
        return wait

    def sys_ppoll(self, call, fds_ptr, nfds, timeout, sigmask, size=8, *_):
        wait = self._poll_entry(call, timeout, sigmask, size)
        if wait is not None and wait < 0:
            return wait
        signals = call.task.signals
        nfds &= 0xFFFFFFFF  # an unsigned int
        if nfds > self.table(call).nofile:
            return signals.mask_restored(-EINVAL)
        # a ppoll going on after its wait looks at the descriptors again, as do_poll's loop
        with self.working(poll=int(not call.resumed), poll_fd=nfds):
            raw = call.space.read(fds_ptr, 8 * nfds)
            if raw is None:
                return signals.mask_restored(-EFAULT)
            polled = [struct.unpack_from("<ihh", raw, 8 * i)[:2] for i in range(nfds)]

            def report(revents: list[int]) -> int:
                out = bytearray(raw)
                for i, rev in enumerate(revents):
                    struct.pack_into("<h", out, 8 * i + 6, rev)
                if not call.space.write(fds_ptr, bytes(out)):
                    return -EFAULT
                log_user(self.k.mem, call.space, fds_ptr, 8 * nfds, WRITE)
                return sum(map(bool, revents))

            log_user(self.k.mem, call.space, fds_ptr, 8 * nfds, READ)
            return signals.mask_restored(self._poll(call, polled, wait, report, always=True))

    def sys_pselect6(self, call, nfds, readfds, writefds, exceptfds, timeout, sig=0, *_):
        """select (glibc's select and pselect are this call): the three descriptor sets as
        poll's requests, the same readiness and the same wait; the sets rewritten to what is
        ready (Linux's POLLIN_SET, POLLOUT_SET, POLLEX_SET), the count of bits set returned.
        The timeout is read, not written back with the time left. `sig`: a {mask, size} pair
        (the mask while it waits). A count past the size of Linux's file table is cut to it
        (core_sys_select's max_fds)."""
        mask = (0, 0)
        if sig:
            raw = call.space.read(sig, 16)
            if raw is None:
                return -EFAULT
            mask = struct.unpack("<QQ", raw)
        wait = self._poll_entry(call, timeout, *mask)
        if wait is not None and wait < 0:
            return wait
        signals = call.task.signals
        nfds = _int(nfds)
        if nfds < 0:
            return signals.mask_restored(-EINVAL)
        nfds = min(nfds, self.table(call).max_fds)
        size = (nfds + 63) // 64 * 8  # the bytes of each set nfds bits need, whole words
        sets = []
        for ptr in (readfds, writefds, exceptfds):
            bits = 0
            if ptr:
                raw = call.space.read(ptr, size)
                if raw is None:
                    return signals.mask_restored(-EFAULT)
                bits = int.from_bytes(raw, "little") & ((1 << nfds) - 1)
            sets.append(bits)
        wanted = sets[0] | sets[1] | sets[2]
        fds = [fd for fd in range(nfds) if wanted >> fd & 1]
        with self.working(poll=int(not call.resumed), poll_fd=len(fds)):
            t = self.table(call)
            if any(t.file(fd) is None for fd in fds):
                return signals.mask_restored(-EBADF)
            asks = (POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, POLLPRI)
            polled = [
                (fd, sum(ask for ask, bits in zip(asks, sets, strict=True) if bits >> fd & 1))
                for fd in fds
            ]

            def report(revents: list[int]) -> int:
                got = [0, 0, 0]
                for (fd, _), rev in zip(polled, revents, strict=True):
                    for k, ask in enumerate(asks):
                        if sets[k] >> fd & 1 and rev & ask:
                            got[k] |= 1 << fd
                for ptr, bits in zip((readfds, writefds, exceptfds), got, strict=True):
                    if ptr and not call.space.write(ptr, bits.to_bytes(size, "little")):
                        return -EFAULT
                return sum(bin(bits).count("1") for bits in got)

            return signals.mask_restored(self._poll(call, polled, wait, report))

    def revents(self, f, events: int) -> int:
        """What `f` is ready for, of `events` (POLLHUP and POLLERR whether asked or not), as
        Linux's poll methods say: a pipe's read end is readable with bytes in it and hung up
        with no writer left; its write end writable with room and in error with no reader; a
        Stream as it says; a device with a poll method (the console, ...) ready for what it is
        open for; a file without one (a regular file, /dev/null) always readable and writable
        (Linux's DEFAULT_POLLMASK)."""
        node = f.node
        if isinstance(node, Pipe):
            rev = 0
            if f.readable:
                rev |= POLLIN | POLLRDNORM if node.buffer else 0
                rev |= POLLHUP if node.writers == 0 else 0
            if f.writable:
                room = len(node.buffer) < node.capacity and (not node.packets or packet_room(node))
                rev |= POLLOUT | POLLWRNORM if room else 0
                rev |= POLLERR if node.readers == 0 else 0
        elif isinstance(node, Stream):
            rev = node.poll(f)
        elif pollable(node):
            rev = (POLLIN | POLLRDNORM if f.readable else 0) | (
                POLLOUT | POLLWRNORM if f.writable else 0
            )
        else:
            rev = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM
        return rev & (events | POLLHUP | POLLERR)

    @staticmethod
    def queues_of(node) -> list[list[int]]:
        """The wait lists a thread waiting for `node` to change joins (a pipe's readers' and
        writers', an event file's, a Stream's), for poll, select and epoll."""
        if isinstance(node, Pipe):
            return [node.read_waiters, node.write_waiters]
        if isinstance(node, EventFile):
            return node.queues()
        return [node.waiters] if isinstance(node, Stream) else []

    def watch(self, queues) -> None:
        """The running thread, blocked in a poll, a select or an epoll wait, also waits on
        `queues` (the wait lists of what it watches: any of them wakes it), each once, until
        its call looks again (stop_watching)."""
        tcb = self.k.running
        joined = self.watching.setdefault(tcb, [])
        for queue in queues:
            if tcb not in queue:
                queue.append(tcb)
                joined.append(queue)

    def stop_watching(self, tcb: int) -> None:
        """The thread leaves the wait lists its poll, select or epoll wait joined."""
        for queue in self.watching.pop(tcb, ()):
            if tcb in queue:
                queue.remove(tcb)

    def _poll(
        self, call, polled: list[tuple[int, int]], wait: int | None, report, always=False
    ) -> int:
        """Wait until one of `polled` ((fd, events) pairs) is ready, a signal comes or the
        timeout (`wait` ns, None: none) passes; then `report(revents)` writes the result
        back and gives the call's. Nothing ready and a handler to run: EINTR at once, even
        with no time to wait (do_poll's signal_pending check); `always`: the result is
        written back then too (poll's: EFAULT if it cannot be), select's is not."""
        t = self.table(call)
        self.stop_watching(self.k.running)
        revents = []
        for fd, events in polled:
            f = t.file(fd)
            revents.append(
                POLLNVAL if f is None and fd >= 0 else 0 if f is None else self.revents(f, events)
            )
        if any(revents):
            return report(revents)
        if call.task.signals.handler_pending():
            return -EFAULT if always and report(revents) == -EFAULT else -EINTR
        if wait == 0:
            return report(revents)
        k = self.k  # wait for what is polled to change, a signal, or the timeout
        waits = [q for f in (t.file(fd) for fd, _ in polled) if f for q in self.queues_of(f.node)]
        if wait is None:
            k.block_current(t.poll_waiters)
        elif not k.sleep_until(k.wait_deadline(wait), t.poll_waiters):
            return report(revents)
        self.watch(waits)
        return -ERESTARTSYS

    # ---- for other services: descriptors of the objects they make (sockets) --------------
    def descriptor(self, task, fd: int):
        """The open file `task`'s descriptor `fd` names (a descriptor looked up), or -EBADF."""
        self.work(fdget=1)
        f = self.tables[task.pid].file(_int(fd))
        return -EBADF if f is None else f

    def install(self, task, f: OpenFile, cloexec: bool) -> int:
        """A new descriptor, the lowest free one of `task`'s table, for the open file `f`; or
        -EMFILE."""
        t = self.tables[task.pid]
        fd = t.lowest_fd()
        if fd < 0:
            return fd
        self.work(fd_install=1)
        return t.install(fd, f, cloexec)

    def hold(self, f: OpenFile) -> None:
        """A reference to `f` outside any table (a descriptor in flight in a message)."""
        f.refs += 1

    def drop(self, f: OpenFile) -> None:
        """Such a reference goes (the message was read or freed)."""
        release(self.k, f, self._released)

    def bind_name(self, task, path: bytes, perm: int):
        """A socket's name at `path` (walked from `task`'s working directory, the last
        component not followed): its new node, or -errno: EADDRINUSE when the name exists (as
        bind answers mknod's EEXIST), EROFS, and the walk's errors."""
        t = self.tables[task.pid]
        before = self.vfs.lookups
        node, parent, name = self.vfs.walk(t.cwd, path, follow=False)
        with self.working(walk=1, lookup=self.vfs.lookups - before) as ops:
            if isinstance(node, int):
                return -node
            if node is not None:
                return -EADDRINUSE
            if parent.readonly:
                return -EROFS
            ops.update(create=1)
            node = parent.add(name, SocketName(perm & ~t.umask))
            node.mtime = self.wall_ns()
            return node

    def named(self, task, path: bytes, follow: bool = True):
        """The node at `path` (walked from `task`'s working directory, a link at its end
        followed unless `follow` is false), or -errno (ENOENT when there is none)."""
        before = self.vfs.lookups
        node, _, _ = self.vfs.walk(self.tables[task.pid].cwd, path, follow)
        self.work(walk=1, lookup=self.vfs.lookups - before)
        if isinstance(node, int):
            return -node
        return -ENOENT if node is None else node

    # ---- for the memory manager: a file's bytes for mmap ---------------------------------
    def mapping_source(self, task, fd: int, offset: int, length: int, writes: bool = False):
        """(bytes backing [offset, offset + length) of the file, its path, its node) or
        -errno. `writes`: a shared writable mapping (the file must be open for writing; its
        stores reach the file through the page cache)."""
        f = self.tables[task.pid].file(_int(fd))
        self.work(fdget=1)
        if f is None:
            return -EBADF
        if not f.readable or writes and not f.writable:
            return -EACCES  # (before the kind: do_mmap's order)
        if not isinstance(f.node, File):
            return -ENODEV
        if err := self.sealed_map(f.node, writes):
            return err
        if writes:
            self.cache.written_through.add(f.node.ino)
        self._sync(f.node)
        path = self.vfs.path_of(f.node).decode(errors="replace")
        return bytes(f.node.data[offset : offset + length]), path, f.node

    def shared_anonymous(self, length: int) -> File:
        """The unnamed object behind MAP_SHARED|MAP_ANONYMOUS (Linux: a shmem file): no name,
        freed with its last mapping."""
        node = File()
        if not self._fits(node, length, len(self.k.ram)):
            return None  # more than the machine has (Linux's overcommit guess: ENOMEM)
        node.data.extend(bytes(length))
        node.nlink = 0
        self.anonymous.add(node)
        self.cache.written_through.add(node.ino)
        return node

    def sync_mapped(self, proc, node) -> None:
        """msync: a shared mapping's stores reach the file (fsmgr's side of the call)."""
        self.placement.call(proc, "fsmgr", lambda: self._sync(node))

    def _sync(self, node) -> None:
        """Stores through shared mappings reach the file before fsmgr looks at its bytes."""
        if isinstance(node, File):
            self.cache.writeback(node)
