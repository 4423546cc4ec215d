"""HM's OS services, each in its own module, each placed by the composition (hmk.system):

    procmgr   Linux processes: fork, execve, exit, wait, signals, credentials, futexes
    memmgr    address spaces, the policy half of kernel paging, the user-level pager
    fsmgr     files: the VFS (tmpfs, devfs, procfs, pipes), descriptors, the page cache
    devhost   the driver container: console, RAM disk, real-time clock, random bytes
    netmgr    sockets (AF_UNIX; TCP and UDP over a loopback-only network)

`service.Service` says what a service declares; `registry.SERVICES` lists them (adding a service
is its module and a line there); `placement.Placement` makes the calls between them cost what
their isolation classes imply.
"""
