"""OS services outside the core kernel (issue 5): each keeps its own state behind an IPC
interface. The memory manager is the first, because the kernel's paging needs its policy."""
