#!/usr/bin/python3
"""dm-vicc.py: puts the emulated DM card (dmcard.py) into a vpcd reader.

Usage: dm-vicc.py [--host HOST] [--trace FILE] IMAGE PORT

Connects to vpcd (the pcscd driver of vsmartcard) on HOST:PORT, like
vsmartcard's vicc, with the card of IMAGE (a JSON image from make-card.py).
The card is in the reader while this runs; stopping it (SIGTERM, SIGKILL)
removes the card.  Every state change is in IMAGE already (see dmcard.py),
so starting it again inserts the same card.  --trace FILE appends each
command and response APDU in hex (the data of VERIFY, CHANGE REFERENCE DATA
and RESET RETRY COUNTER is left out).

Exit status: 0 when vpcd closed the connection or on SIGTERM, 1 when the
image is unusable or vpcd cannot be reached.
"""

import argparse
import logging
import signal
import socket
import sys

from dmcard import DMCardOS, CardError
from virtualsmartcard.VirtualSmartcard import VirtualICC


def main():
    ap = argparse.ArgumentParser(description="the emulated DM card in a vpcd reader")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--trace", help="append the APDUs to this file")
    ap.add_argument("image")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    # vicc's own logging prints whole APDUs (PINs included): errors only.
    logging.basicConfig(level=logging.ERROR, format="dm-vicc: %(message)s")

    try:
        card = DMCardOS(args.image)
    except (OSError, ValueError, KeyError, CardError) as e:
        print("dm-vicc: %s: cannot load the card image: %s" % (args.image, e), file=sys.stderr)
        return 1
    if args.trace:
        card.trace = open(args.trace, "a", encoding="ascii")

    try:
        sock = VirtualICC.connectToPort(args.host, args.port)
    except OSError as e:
        print("dm-vicc: cannot reach vpcd at %s:%d: %s (is pcscd running with the vpcd reader?)"
              % (args.host, args.port, e), file=sys.stderr)
        return 1
    sock.settimeout(None)

    # VirtualICC's constructor would build vicc's stock card and connect by
    # itself; we give its protocol loop (run) our card and our socket.
    icc = VirtualICC.__new__(VirtualICC)
    icc.os, icc.type = card, "iso7816"
    icc.host, icc.port = args.host, args.port
    icc.sock, icc.server_sock = sock, None

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        icc.run()          # returns through sys.exit when vpcd closes
    except (socket.error, KeyboardInterrupt):
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
