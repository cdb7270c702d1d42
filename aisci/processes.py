"""Whether a process of this host still runs: how leftovers of a dead worker (containers, budget
reservations) are told from those of a live one."""

import os


def alive(pid: int) -> bool:
    """True while `pid` exists, even when it belongs to another user."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
