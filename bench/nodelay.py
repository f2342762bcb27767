"""uvicorn's h11 protocol with TCP_NODELAY set on each connection, for the load benchmark's
multi-process row.

``uvicorn --workers N`` binds its listening socket with ``proto`` 0; accepted sockets inherit it, and
asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP. So Nagle's algorithm stays on, and each
keep-alive response waits about 40 ms for the client's delayed ACK (uvicorn issue #3149, open). The
container runs one process (``uvicorn.run`` with a host and port), which asyncio binds itself: unaffected.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
