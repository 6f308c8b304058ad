"""``python -m portal.serve ARGS``: Daphne's own command line (the same arguments), on uvloop.

Daphne runs Twisted on an asyncio event loop that it creates when ``daphne.server`` is first imported;
the loop policy set before that import decides which loop it is. uvloop's loop takes a relayed call
message through each process in less time than the standard library's (``bench/signaling.py``: idle
relay p50 2.8-3.1 ms against 3.5-3.9 ms on the same machine). ``EVENT_LOOP=asyncio`` keeps the
standard library's loop.
"""

from __future__ import annotations

import asyncio
import os
import sys

EVENT_LOOPS = ("uvloop", "asyncio")


def chosen_loop(environ=os.environ) -> str:
    name = environ.get("EVENT_LOOP", "").strip() or "uvloop"
    if name not in EVENT_LOOPS:
        raise SystemExit(f"EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
    return name


def main() -> None:
    name = chosen_loop()
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # creates Daphne's loop, under the policy set above
    from daphne.server import twisted_loop

    kind = f"{type(twisted_loop).__module__}.{type(twisted_loop).__qualname__}"
    sys.stderr.write(f"PeerLearn: Daphne on the {name} event loop ({kind})\n")
    sys.stderr.flush()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
