#!/usr/bin/env python3
"""Writes raw.bin (~10 MB of the meter's live frames, CR LF after each) and
watt.txt (the same frames as a watt.txt log, one second apart): the inputs of
the hpm-frame instruction counts in docs/performance.md."""
import random, datetime
random.seed(7)
labels = ["Vo", "Am", "Wa", "Wh", "Pf", "Hz", "Kg", "Eu"]
t = datetime.datetime(2011, 1, 5, 7, 57, 32)
raw = []; log = []; size = 0
while size < 10_000_000:
    f = "S" + "".join(
        ":" + f"{random.randint(1000, 9999)}{random.randint(1, 4)}".rjust(7) + l
        for l in labels) + "  E"
    raw.append(f + "\r\n")
    log.append(f + t.strftime("[%Y-%m-%d %H:%M:%S] \n"))
    t += datetime.timedelta(seconds=1)
    size += len(f) + 2
open("raw.bin", "w", newline="").write("".join(raw))
open("watt.txt", "w", newline="").write("".join(log))
