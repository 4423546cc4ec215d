"""The services' budgets (their `costs`): each measured one is what its comment derives from the
measured Linux paths (hmk/calibration/linux_paths.json), a call is charged the operations it
performs and no others, the same call is charged the same under every composition (only the
placement's costs differ), and HM's driver container hears of every thread through the
placement (its shadow tasks) while a linux kernel's drivers do not."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from hmk.calibration.fit import HERE
from hmk.linux import shim
from hmk.services import placement
from hmk.services.copies import COPY_LINE, COPY_PAGE, PAGE_CLEAR, lines
from hmk.services.devhost import DevHost
from hmk.services.fsmgr import FsMgr
from hmk.services.memmgr import MemoryManager
from hmk.services.netmgr import NetMgr
from hmk.services.procmgr import ProcMgr
from hmk.services.service import ENTRY
from hmk.system.simulation import run_program
from hmk.workloads import path

DATA = json.loads((HERE / "linux_paths.json").read_text())


def part(key: str, label: str) -> float:
    """A measured path's component, by its label (docs/linux-paths.md)."""
    for c in DATA["paths"][key]["components"]:
        if c["part"].strip() == label:
            return c["instructions"]
    raise KeyError(f"{key}: no component {label!r}")


def total(key: str) -> float:
    return DATA["paths"][key]["instructions"]


def fit(name: str, label: str | None = None) -> float:
    value = DATA["fits"][name]
    return value if label is None else value[label]


def inclusive(key: str, function: str) -> float:
    """A function's inclusive count on a path (the JSON keeps those of 2 % of it or more)."""
    return next(f["instructions"] for f in DATA["paths"][key]["inclusive"] if f["name"] == function)


def calls(key: str, function: str) -> float:
    return next(f["calls"] for f in DATA["paths"][key]["inclusive"] if f["name"] == function)


def derived() -> dict:
    """(service, budget) -> what its comment says it is, from the measurement."""
    P, F = part, fit
    lookup = F("path_walk_per_component_open")
    walk = P("stat_2_components", "filename_lookup") - 2 * round(lookup)
    path_copy = P("open_close_2_components", "getname (the path copied from user memory)") + P(
        "open_close_2_components", "putname"
    )
    fd_install = P("open_close_2_components", "get_unused_fd_flags") + P(
        "open_close_2_components", "fd_install"
    )
    fd_close = P("dup_close", "close") - ENTRY
    file_release = (
        P("open_close_2_components", "final fput (task work on the way out)")
        - P("open_close_2_components", "security_file_free (AppArmor)")
        + P("open_close_2_components", "close")
        - P("dup_close", "close")
    )
    per_page_read = F("pread_per_page_parts", "copy_page_to_iter")
    per_page_write = F("pwrite_per_page_parts", "iov_iter_copy_from_user_atomic")
    cache_read = F("pread_per_page") - per_page_read
    cache_write = F("pwrite_per_page") - per_page_write
    one_line = COPY_PAGE + COPY_LINE
    apparmor_rw = P("pread_1_byte", "apparmor_file_permission")
    rw_verify = P("pread_1_byte", "rw_verify_area")
    read_iter = P("pread_1_byte", "shmem_file_read_iter")
    init_on_alloc = P("pwrite_1_byte_new_page", "kernel_init_free_pages (init_on_alloc)")
    cache_insert = F("pwrite_new_page_extra") - init_on_alloc
    file_read = read_iter - cache_read - one_line
    fork_vma = F("fork_per_untouched_vma_parts", "dup_mm")
    exit_vma = F("fork_per_untouched_vma_parts", "exit_mmap")
    fork_page = F("fork_per_written_page_parts", "copy_page_range")
    exit_page = F("fork_per_written_page_parts", "exit_mmap")
    unmap_page = F("fork_per_written_page_parts", "unmap_vmas")
    pte = 13  # set_pte_at (anon_write_fault), the kernel's page-table store
    schedule = part("thread_create_exit_join", "its schedule")
    fs = {
        "fdget": P("pread_1_byte", "__fdget"),
        "fd_install": fd_install,
        "fd_close": fd_close,
        "file_release": file_release,
        "table_copy": P("fork_exit_wait", "copy_process: dup_fd (the descriptor table)"),
        "table_free": P("fork_exit_wait", "do_exit: exit_files") - 3 * fd_close,
        "fcntl": P("rt_sigprocmask", "rt_sigprocmask")
        - ENTRY
        - P("rt_sigprocmask", "_copy_from_user (the new mask)")
        - P("rt_sigprocmask", "__arch_copy_to_user (the old mask)"),
        "path_copy": path_copy,
        "walk": walk,
        "lookup": lookup,
        "file_open": P("open_close_2_components", "openat")
        - ENTRY
        - path_copy
        - fd_install
        - walk
        - 2 * round(lookup)
        - P("open_close_2_components", "security_file_alloc (AppArmor)")
        - P("open_close_2_components", "security_file_open (AppArmor, TOMOYO)"),
        "create": P("create_close_unlink", "openat(O_CREAT)")
        - P("open_close_2_components", "openat"),
        "unlink": P("create_close_unlink", "unlinkat")
        - ENTRY
        - path_copy
        - P("create_close_unlink", "filename_parentat")
        - round(lookup),
        "stat": P("fstat", "fstat")
        - ENTRY
        - P("fstat", "__fdget_raw")
        - P("fstat", "tomoyo_inode_getattr")
        - P("fstat", "apparmor_inode_getattr"),
        "readdir": P("getdents_empty_dir", "getdents64")
        - ENTRY
        - P("pread_1_byte", "__fdget")
        - P("getdents_empty_dir", "apparmor_file_permission"),
        "dirent": F("getdents_per_entry"),
        "seek": P("getdents_empty_dir", "lseek") - ENTRY - P("pread_1_byte", "__fdget"),
        "rw_check": (rw_verify - apparmor_rw + P("pwrite_1_byte", "rw_verify_area") - apparmor_rw)
        / 2,
        "vfs_rw": P("pread_1_byte", "pread64")
        - ENTRY
        - P("pread_1_byte", "__fdget")
        - rw_verify
        - read_iter,
        "file_read": file_read,
        "file_write": P("pwrite_1_byte", "generic_file_write_iter") - cache_write - one_line,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "cache_insert": cache_insert,
        "cache_drop": F("mmap_touch_per_extra_page_parts", "release_pages"),
        "pipe_read": P("pipe_roundtrip", "pipe_read") - P("pipe_roundtrip", "copy_page_to_iter"),
        "pipe_write": P("pipe_roundtrip", "pipe_write")
        - P("pipe_roundtrip", "copy_page_from_iter")
        - P("pipe_roundtrip", "__wake_up_sync_key (the reader woken)"),
        "pipe_wake": P("pipe_roundtrip", "__wake_up_sync_key (the reader woken)"),
        "pipe_wait": P("context_switch_roundtrip", "pipe_read without schedule") / 2
        - P("pipe_roundtrip", "pipe_read"),
        "pipe_page": P(
            "anon_write_fault", "__alloc_pages_nodemask (the buddy allocator, with the clearing)"
        )
        - P("anon_write_fault", "kernel_init_free_pages (the clearing, with its clear_page)")
        + P("anon_write_fault", "memcg charge (mem_cgroup_charge)"),
        "pipe_make": P("pipe_create_close", "pipe2")
        - ENTRY
        - P("pipe_create_close", "get_unused_fd_flags")
        - P("pipe_create_close", "fd_install")
        - P("pipe_create_close", "security_file_alloc (AppArmor)"),
        "pipe_free": P("pipe_create_close", "close (both)")
        + P("pipe_create_close", "final fputs (task work: pipe_release)")
        - 2 * (fd_close + file_release)
        - P("pipe_create_close", "security_file_free (AppArmor)"),
        "event_file": inclusive("pipe_create_close", "alloc_file_pseudo")
        - P("pipe_create_close", "security_file_alloc (AppArmor)") / 2
        + inclusive("pipe_create_close", "kmem_cache_alloc_trace"),
        "event_wake": P("pipe_roundtrip", "__wake_up_sync_key (the reader woken)"),
        "event_wait": P("context_switch_roundtrip", "pipe_read without schedule") / 2
        - P("pipe_roundtrip", "pipe_read"),
        "signal_dequeue": inclusive("signal_self_handled", "dequeue_signal"),
    }
    mm = {
        "refill_per_frame": inclusive("anon_write_fault", "alloc_pages_vma")
        - inclusive("anon_write_fault", "kernel_init_free_pages"),
        "vma_find": P("mmap_munmap", "find_vma (both calls)") / 2,
        "vma_gap": P("mmap_munmap", "get_unmapped_area"),
        "vma_insert": P("mmap_munmap", "mmap_region"),
        "vma_remove": P("mmap_munmap", "remove_vma") + P("mmap_munmap", "__vma_rb_erase"),
        "vma_split": P("mprotect_split_merge", "__split_vma") / 2,
        "vma_protect": (
            P("mprotect_whole_vma", "mprotect") - P("mprotect_whole_vma", "security_file_mprotect")
        )
        / 2
        - ENTRY,
        "vma_resize": P("mremap_grow_shrink", "vma_to_resize")
        + P("mremap_grow_shrink", "vma_adjust") / 2,
        "fork_vma": fork_vma,
        "fork_anon_vma": F("fork_per_touched_vma_one_page_parts", "dup_mm") - fork_vma - fork_page,
        "cow_share": fork_page - 2 * pte,
        "exit_vma": exit_vma,
        "exit_anon_vma": F("fork_per_touched_vma_one_page_parts", "exit_mmap")
        - exit_vma
        - exit_page,
        "exit_page": exit_page - pte,
        "mmap": P("mmap_munmap", "__arm64_sys_mmap")
        - ENTRY
        - P("mmap_munmap", "get_unmapped_area")
        - P("mmap_munmap", "mmap_region"),
        "munmap": P("mmap_munmap", "munmap: __vm_munmap")
        - P("mmap_munmap", "unmap_region")
        - P("mmap_munmap", "remove_vma")
        - P("mmap_munmap", "__vma_rb_erase")
        - P("mmap_munmap", "find_vma (both calls)") / 2,
        "brk": (
            P("brk_grow_shrink", "brk")
            - P("brk_grow_shrink", "do_brk_flags")
            - P("brk_grow_shrink", "__do_munmap")
        )
        / 2
        - ENTRY,
        "unmap_range": P("mmap_munmap", "unmap_region"),
        "unmap_page": unmap_page - pte,
        "free_page": F("mmap_touch_per_extra_page_parts", "munmap: __vm_munmap") - unmap_page,
        "fault": P("anon_read_fault", "do_mem_abort .. do_page_fault (own)")
        + P("anon_read_fault", "find_vma"),
    }
    dev = {
        "console_write": P("console_write_1_byte", "tty_write")
        - P("console_write_1_byte", "_copy_from_iter (the byte copied in)"),
        "disk_page": P("pread_1_byte", "find_get_entry"),
        "disk_insert": cache_insert
        - P("pwrite_1_byte_new_page", "mem_cgroup_charge")
        - P("pwrite_1_byte_new_page", "lru_cache_add"),
        "disk_request": fs["vfs_rw"] + file_read,
        "random_block": inclusive("execve_tiny_static", "chacha_block_generic")
        / calls("execve_tiny_static", "chacha_block_generic"),
        "shadow_create": P("thread_create_exit_join", "copy_process: alloc_pid"),
        "shadow_release": P("thread_create_exit_join", "free_pid"),
    }
    exec_tiny = "execve_tiny_static"
    pm = {
        "ids": P("null_syscall", "getppid itself") - ENTRY,
        "sigaction": P("rt_sigaction", "rt_sigaction") - ENTRY,
        "sigprocmask": P("rt_sigprocmask", "rt_sigprocmask") - ENTRY,
        "kill": P("signal_self_handled", "kill")
        - ENTRY
        - P("signal_self_handled", "security_task_kill (AppArmor)"),
        "sigreturn": P("signal_self_handled", "rt_sigreturn") - ENTRY,
        "creds": P("setresuid_unchanged", "setresuid") - ENTRY,
        "futex": P("futex_wake_nobody", "futex") - ENTRY,
        "futex_woken": P("thread_create_exit_join", "futex_wake (the exiting thread's CLEARTID)")
        - P("futex_wake_nobody", "futex_wake")
        - P("thread_create_exit_join", "wake_up_q"),
        "futex_wait": P("thread_create_exit_join", "futex") - ENTRY - schedule,
        "fork_task": P("fork_exit_wait", "clone: copy_process")
        - P("fork_exit_wait", "dup_mm")
        - P("fork_exit_wait", "copy_process: dup_fd (the descriptor table)")
        - P("fork_exit_wait", "copy_process: alloc_pid")
        - P("fork_exit_wait", "dup_task_struct")
        - P("fork_exit_wait", "copy_process: sched_fork")
        - P("fork_exit_wait", "copy_process: copy_thread"),
        "pid_alloc": P("fork_exit_wait", "copy_process: alloc_pid"),
        "thread_task": P("thread_create_exit_join", "copy_process")
        - P("thread_create_exit_join", "copy_process: dup_task_struct")
        - P("thread_create_exit_join", "copy_process: alloc_pid")
        - P("thread_create_exit_join", "copy_process: sched_fork")
        - P("thread_create_exit_join", "copy_process: copy_thread"),
        "exit_task": P("fork_exit_wait", "child exit: do_exit")
        - P("fork_exit_wait", "do_exit: exit_mm")
        - P("fork_exit_wait", "do_exit: exit_files")
        - P("fork_exit_wait", "do_exit: do_task_dead (the last switch away)"),
        "thread_exit": P("thread_create_exit_join", "do_exit")
        - P("thread_create_exit_join", "do_exit: exit_mm_release")
        - P("thread_create_exit_join", "do_exit: do_task_dead (the last switch away)"),
        "wait": P("fork_exit_wait", "wait4: do_wait")
        - P("fork_exit_wait", "wait4: do_wait's schedule")
        - P("fork_exit_wait", "wait4: release_task"),
        "reap": P("fork_exit_wait", "wait4: release_task"),
        "exec": P(exec_tiny, "do_execveat_common")
        - P(exec_tiny, "mmput (the old image dropped)")
        - P(exec_tiny, "do_open_execat")
        - P(exec_tiny, "setup_arg_pages")
        - P(exec_tiny, "elf_map (the segments mapped)")
        - P(exec_tiny, "arch_setup_additional_pages (the vDSO mapped)")
        - P(exec_tiny, "copy_string_kernel (the path onto the new stack, its page faulted in)")
        - P(exec_tiny, "copy_strings")
        - P(exec_tiny, "security_bprm_check (TOMOYO)"),
        "exec_string": P(exec_tiny, "copy_strings") / 3,  # argv[0] and two environment strings
    }
    net = _net_budgets(fs)
    wrappers = (  # a syscall's wrapper around its body: 12 to 13
        P("pread_1_byte", "pread64") - P("pread_1_byte", "ksys_pread64"),
        P("fstat", "fstat") - P("fstat", "__do_sys_newfstat"),
        P("pipe_roundtrip", "read") - P("pipe_roundtrip", "ksys_read"),
    )
    entry = {"wrappers' mean": sum(wrappers) / len(wrappers)}
    copies = {
        "COPY_LINE": F("pread_per_page_parts", "__arch_copy_to_user") / 64,
        "COPY_PAGE": (per_page_read + per_page_write) / 2 - 64 * COPY_LINE,
        "PAGE_CLEAR": P("anon_write_fault", "clear_page"),
    }
    signal = (
        P("signal_self_handled", "get_signal")
        + P("signal_self_handled", "setup_rt_frame (the frame built)")
        + P("signal_self_handled", "signal_setup_done")
    )
    return {
        **{(FsMgr, k): v for k, v in fs.items()},
        **{(MemoryManager, k): v for k, v in mm.items()},
        **{(DevHost, k): v for k, v in dev.items()},
        **{(ProcMgr, k): v for k, v in pm.items()},
        **{(NetMgr, k): v for k, v in net.items()},
        **{("ENTRY", k): v for k, v in entry.items()},
        **{("copies", k): v for k, v in copies.items()},
        ("shim", "signal_deliver"): signal,
        # a hybrid kernel's message: a pipe's write and read less the times and the wake-up
        ("placement", "MESSAGE"): P("pipe_roundtrip", "pipe_write")
        + P("pipe_roundtrip", "pipe_read")
        - inclusive("pipe_roundtrip", "file_update_time")
        - inclusive("pipe_roundtrip", "touch_atime")
        - inclusive("pipe_roundtrip", "__wake_up_sync_key"),
    }


def _net_budgets(fs: dict) -> dict:
    """The network manager's budgets from the socket paths (docs/linux-paths.md, "Sockets")."""
    P = part
    lookup = "sockfd_lookup_light (a call's descriptor)"
    fdget = "__fdget (connect's and accept's descriptor)"

    def rt(key, call, copy, hooks):
        """A round trip's send or receive: the call less the entry, the descriptor, the copy
        and the security hooks."""
        return P(key, call) - ENTRY - P(key, lookup) - P(key, copy) - sum(P(key, h) for h in hooks)

    send_hook, recv_hook = (
        "security_socket_sendmsg (AppArmor, TOMOYO)",
        "security_socket_recvmsg (AppArmor)",
    )
    copy_in, copy_out = (
        "_copy_from_iter (the bytes copied in)",
        "_copy_to_iter (the bytes copied out)",
    )
    copy_in_full = "_copy_from_iter_full (the bytes copied in)"
    segment = "a segment's security hooks (two segments: data, ACK)"
    made_hooks = "security hooks (socket_create, socket_post_create, sk_alloc, file_alloc)"
    freed_hooks = "security hooks (file_free, sk_free)"
    # the file manager's part of a socket's descriptor and last close
    install, closing = fs["fd_install"], ENTRY + fs["fd_close"] + fs["file_release"]

    def make(key):
        return (
            P(key, "socket")
            - ENTRY
            - P(key, "get_unused_fd_flags")
            - P(key, "fd_install")
            - P(key, made_hooks)
        )

    def free(key):  # an unconnected socket's last close, all of it less the file manager's
        return P(key, "close") + P(key, "final fput (task work: sock_close)") - P(key, freed_hooks)

    def hangup(conn, make_key):
        both = P(conn, "close (both)") + P(conn, "final fputs (task work: sock_close, both)")
        return (both - P(conn, "the closes' security hooks")) / 2 - free(make_key)

    accept_hooks = "accept's security hooks (socket_accept, file_alloc, sock_graft)"
    opt = "socket_options"

    def step(path, call, hooks, *more):  # a call of a path less entry, descriptor and hooks
        first = fdget if call in ("connect", "accept") else lookup
        return P(path, call) - ENTRY - P(path, first) - P(path, hooks) - sum(more)

    connect_hooks = "connect's security hooks"
    return {
        "unix_make": make("unix_socket_close"),
        "tcp_make": make("tcp_socket_close"),
        "udp_make": make("udp_socket_close"),
        "unix_free": free("unix_socket_close") - closing,
        "tcp_free": free("tcp_socket_close") - closing,
        "udp_free": free("udp_socket_close") - closing,
        "unix_connect": step("unix_connect_accept_close", "connect", connect_hooks),
        "unix_accept": step("unix_connect_accept_close", "accept", accept_hooks, install),
        "unix_hangup": hangup("unix_connect_accept_close", "unix_socket_close"),
        "tcp_connect": step("tcp_connect_accept_close", "connect", connect_hooks),
        "tcp_accept": step("tcp_connect_accept_close", "accept", accept_hooks, install),
        "tcp_hangup": hangup("tcp_connect_accept_close", "tcp_socket_close"),
        "bind": step("tcp_bind_listen_close", "bind", "security_socket_bind (AppArmor, TOMOYO)"),
        "listen": step(
            "tcp_bind_listen_close", "listen", "security_socket_listen (AppArmor, TOMOYO)"
        ),
        "unix_send": rt("unix_stream_roundtrip", "sendto", copy_in, [send_hook]),
        "unix_recv": rt("unix_stream_roundtrip", "recvfrom", copy_out, [recv_hook]),
        "unix_dgram_send": rt(
            "unix_dgram_roundtrip",
            "sendto",
            copy_in,
            [send_hook, "security_unix_may_send, security_socket_getpeersec_dgram"],
        ),
        "unix_dgram_recv": rt("unix_dgram_roundtrip", "recvfrom", copy_out, [recv_hook]),
        "tcp_send": rt("tcp_roundtrip", "sendto", copy_in_full, [send_hook, segment]),
        "tcp_recv": rt("tcp_roundtrip", "recvfrom", copy_out, [recv_hook, segment]),
        "udp_send": rt(
            "udp_roundtrip", "sendto", copy_in_full, [send_hook, "the datagram's security hooks"]
        ),
        "udp_recv": rt("udp_roundtrip", "recvfrom", copy_out, [recv_hook]),
        "msg_header": P(
            "unix_scm_rights_roundtrip", "sendmsg_copy_msghdr (the msghdr and its iovec copied in)"
        ),
        "scm_fd": P(
            "unix_scm_rights_roundtrip", "per descriptor: fget_raw, unix_inflight, unix_notinflight"
        ),
        "scm_send": P("unix_scm_rights_roundtrip", "sendmsg")
        - P("unix_scm_rights_roundtrip", "sendmsg_copy_msghdr (the msghdr and its iovec copied in)")
        - P("unix_stream_roundtrip", "sendto")
        - P(
            "unix_scm_rights_roundtrip", "per descriptor: fget_raw, unix_inflight, unix_notinflight"
        ),
        "scm_recv": P("unix_scm_rights_roundtrip", "recvmsg")
        - P("unix_scm_rights_roundtrip", "sendmsg_copy_msghdr (the msghdr and its iovec copied in)")
        - P("unix_stream_roundtrip", "recvfrom")
        - P("unix_scm_rights_roundtrip", "security_file_receive (AppArmor)")
        - install,
        "getname": P(opt, "getsockname")
        - ENTRY
        - P(opt, lookup)
        - P(opt, "security_socket_getsockname"),
        "sockopt": (
            P(opt, "setsockopt")
            - P(opt, "security_socket_setsockopt")
            + P(opt, "getsockopt")
            - P(opt, "security_socket_getsockopt")
        )
        / 2
        - ENTRY
        - P(opt, lookup),
    }


CONSTANTS = {"COPY_LINE": COPY_LINE, "COPY_PAGE": COPY_PAGE, "PAGE_CLEAR": PAGE_CLEAR}


def test_measured_budgets_are_what_their_comments_derive():
    for (owner, key), value in derived().items():
        if owner == "ENTRY":
            budget = ENTRY
        elif owner == "copies":
            budget = CONSTANTS[key]
        elif owner == "shim":
            budget = shim.COSTS[key]
        elif owner == "placement":
            budget = getattr(placement, key)
        else:
            budget = owner.costs[key]
        assert budget == pytest.approx(value, abs=0.51), (owner, key, budget, value)


def test_every_budget_is_measured_or_a_stated_assumption():
    """A budget not derived above says in its comment that it is assumed (or is a shared one:
    the entry, the copies' and the random generator's)."""
    measured = {(o, k) for o, k in derived() if not isinstance(o, str)}
    shared = {"call", "copy_page", "copy_line", "page_clear", "random_block"}
    for service in (FsMgr, MemoryManager, DevHost, ProcMgr, NetMgr):
        source = Path(sys.modules[service.__module__].__file__).read_text(encoding="utf-8")
        lines_ = source.splitlines()
        for key in service.costs:
            if (service, key) in measured or key in shared:
                continue
            at = next(i for i, line in enumerate(lines_) if line.startswith(f'        "{key}": '))
            while lines_[at - 1].startswith('        "'):  # a comment shared with the one above
                at -= 1
            comment = []
            while lines_[at - 1].strip().startswith("#"):
                at -= 1
                comment.insert(0, lines_[at])
            assert "assumed" in " ".join(comment), (service.name, key)


# ---- a call is charged the operations it performs ------------------------------------------
def _run(program, args, system="hm-phone", **kw):
    return run_program(
        str(path(program)), args, system=system, out=io.BytesIO(), err=io.BytesIO(), **kw
    ).stats


def _ops(stats: dict, service: str) -> dict:
    head = f"services.{service}.work."
    return {k.removeprefix(head): v for k, v in stats.items() if k.startswith(head)}


def test_the_instructions_are_the_operations_budgets():
    s = _run("fsx", [])
    for service in (FsMgr, MemoryManager, DevHost, ProcMgr):
        ops = _ops(s, service.name)
        assert ops, service.name
        assert s[f"services.{service.name}.instructions"] == sum(
            service.costs[op] * n for op, n in ops.items()
        )


def test_a_read_of_n_bytes_charges_its_pages_and_lines():
    from test_fsmgr import BASE, make_fs  # noqa: PLC0415
    from test_fsmgr import path as put  # noqa: PLC0415

    from hmk.linux.abi import AT_FDCWD, O_CREAT, O_RDWR  # noqa: PLC0415

    f, space, call, k = make_fs()
    fd = f.sys_openat(call, AT_FDCWD, put(space, b"/tmp/data"), O_CREAT | O_RDWR, 0o600)
    f.tables[1].file(fd).node.data[:] = bytes(3 * 4096)

    def charged(do):
        before = dict(k.counts)
        result = do()
        ops = {
            key.removeprefix("fsmgr.work."): v - before.get(key, 0)
            for key, v in k.counts.items()
            if key.startswith("fsmgr.work.") and v != before.get(key, 0)
        }
        spent = k.counts["fsmgr.instructions"] - before.get("fsmgr.instructions", 0)
        assert spent == sum(FsMgr.costs[op] * n for op, n in ops.items())
        return result, ops

    n, offset = 5000, 4000  # bytes 4000..8999: three pages, 79 lines
    result, ops = charged(lambda: f.sys_pread64(call, fd, BASE + 0x100, n, offset))
    assert result == n
    base = {"fdget": 1, "rw_check": 1, "vfs_rw": 1, "file_read": 1}
    # the first read puts the three pages in the cache
    assert ops == {**base, "cache_insert": 3, "cache_read": 3, "copy_page": 3, "copy_line": 79}
    result, ops = charged(lambda: f.sys_pread64(call, fd, BASE + 0x100, n, offset))
    assert ops == {**base, "cache_read": 3, "copy_page": 3, "copy_line": lines(n)}
    result, ops = charged(lambda: f.sys_pwrite64(call, fd, BASE + 0x100, 64, 4096))
    assert result == 64
    assert ops == {
        "fdget": 1,
        "rw_check": 1,
        "vfs_rw": 1,
        "file_write": 1,
        "cache_write": 1,
        "copy_page": 1,
        "copy_line": 1,
    }


# ---- the same call, the same charge, under every composition --------------------------------
COMPOSITIONS = ("linux", "hm-ic0", "hybrid", "hm-phone", "hm-router", "sel4")
# what differs by composition, by design: the driver host's shadow tasks (an hm kernel's only);
# with two processes on a pipe, whether a read finds it empty follows the scheduler (Linux's
# CFS runs the other process at other moments than HM's scheduler). The memory manager is left
# out: its side of paging is the composition's (a linux kernel resolves its own faults, kernel
# paging its pool refills; one apart from the file manager copies mapped file pages).
# glibc's mkstemp draws its random name by rejection sampling, so how many getrandom calls it
# makes depends on the bytes drawn, which differ as the clock does: left out of the comparison
RANDOM = "shim.syscalls.getrandom"
NOT_COMPARED = {"devhost": {"shadow_create", "shadow_release"}, "fsmgr": {"pipe_wait"}}


@pytest.fixture(scope="module", params=["minish", "shmem", "sigtest"])
def runs(request):
    """fork, execve, pipes and wait (minish); files and shared mappings (shmem); handlers,
    deaths by signals and SIGCHLD (sigtest); under every composition (programs whose calls do
    not depend on the clock: a temporary name from mkstemp mixes it in)"""
    return {system: _run(request.param, [], system) for system in COMPOSITIONS}


@pytest.mark.parametrize("service", ["fsmgr", "procmgr", "devhost"])
def test_the_same_calls_charge_the_same_work_everywhere(runs, service):
    syscalls = {
        system: {k: v for k, v in s.items() if k.startswith("shim.syscalls.") and k != RANDOM}
        for system, s in runs.items()
    }
    assert all(calls == syscalls["linux"] for calls in syscalls.values())  # the same program run
    skip = NOT_COMPARED.get(service, set())
    work = {
        system: {op: n for op, n in _ops(s, service).items() if op not in skip}
        for system, s in runs.items()
    }
    if service == "devhost":  # less glibc's getrandom calls: one 8-byte request each
        for system, w in work.items():
            for op in ("call", "copy_page", "copy_line", "random_block"):
                w[op] = w.get(op, 0) - runs[system].get(RANDOM, 0)
    assert work["linux"] and all(w == work["linux"] for w in work.values()), work


# ---- HM's driver container hears of every thread ----------------------------------------
def test_threads_have_shadow_tasks_in_hms_driver_container_only():
    made = {}
    for system in ("hm-phone", "hm-ic0", "linux"):
        s = _run("threads", ["4"], system)
        made[system] = s
    phone, ic0, linux = made["hm-phone"], made["hm-ic0"], made["linux"]
    threads = phone["services.procmgr.threads"]
    # every thread, the first process's included, made and gone
    assert phone["services.devhost.shadow_tasks.created"] == threads + 1
    assert phone["services.devhost.shadow_tasks.released"] == threads + 1
    assert phone["services.procmgr.shadow_calls"] == 2 * (threads + 1)
    # hm-phone: procmgr (sysmgr, IC1) to the driver container (IC2): real IPCs
    assert phone["domains.devhost.calls.sysmgr.fast"] >= 2 * threads
    # hm-ic0: the same work, as function calls
    assert ic0["services.devhost.shadow_tasks.created"] == threads + 1
    assert _ops(ic0, "devhost")["shadow_create"] == _ops(phone, "devhost")["shadow_create"]
    # linux: the drivers use the kernel's own tasks: no shadow, no call
    assert not any("shadow" in k for k in linux)
