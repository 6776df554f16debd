"""Who is at the other end of a Unix socket (SO_PEERCRED): the daemon serves its owner only."""

from __future__ import annotations

import socket
import struct

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def supported() -> bool:
    """Unix sockets with peer credentials (Linux); elsewhere searches run in-process."""
    return hasattr(socket, "AF_UNIX") and hasattr(socket, "SO_PEERCRED")


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process that connected (or accepted) `sock`; None if unknown."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size)
    except OSError:
        return None
    _pid, uid, _gid = _UCRED.unpack(raw)
    return int(uid)


def same_user(peer: int | None, own: int) -> bool:
    """Only the very same uid passes (root included: root's daemon serves root alone)."""
    return peer is not None and peer == own
