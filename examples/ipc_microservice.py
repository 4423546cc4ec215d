"""An IPC-heavy microservice pattern: a client process and a server process exchanging small
requests over a pair of pipes (every request a write, a blocking read and a context switch on
each side).

    python examples/ipc_microservice.py [REQUESTS]      # on two compositions, cycles per request
"""

import sys

import hmk

REQUEST_BYTES = 64


def server(libc, requests_fd, replies_fd):
    """Read a request, do a little work on it, write the reply; stop at end of file."""
    served = 0
    while True:
        request = libc.read(requests_fd, REQUEST_BYTES)
        if not request:
            return 0 if served else 1
        libc.compute(200)  # parse and handle the request
        libc.write(replies_fd, request.upper())
        served += 1


def main(libc, requests=50):
    """Start the server, send `requests` requests and check every reply; exit status 0 when all
    were right."""
    requests_r, requests_w = libc.pipe()
    replies_r, replies_w = libc.pipe()

    def serve(child):
        child.close(requests_w)  # the server keeps only its ends, so end of file reaches it
        child.close(replies_r)
        return server(child, requests_r, replies_w)

    pid = libc.fork(serve)
    libc.close(requests_r)
    libc.close(replies_w)
    wrong = 0
    for i in range(requests):
        message = f"get /item/{i:04d}".encode().ljust(REQUEST_BYTES, b".")
        libc.write(requests_w, message)
        if libc.read(replies_r, REQUEST_BYTES) != message.upper():
            wrong += 1
    libc.close(requests_w)  # end of file for the server
    _, status = libc.wait(pid)
    return wrong + status


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for system in ("linux", "hm-phone"):
        result = hmk.System(system=system).run(main, n)
        print(
            f"{system:9s} exit {result.exit_status}: {result.cycles:,} cycles "
            f"({result.cycles / n:,.0f} per request), {result.syscalls} syscalls, "
            f"{result.stats.get('kernel.context_switches', 0)} context switches"
        )
