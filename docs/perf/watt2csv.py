#!/usr/bin/env python3
"""A plain regex converter of a watt.txt log to CSV: the baseline for com decode."""
import re, sys
LINE = re.compile(rb'(S(?::[ 0-9]{7}[A-Za-z]{2})+  E)\[(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\] ')
FIELD = re.compile(rb':\s*(\d+)([A-Za-z]{2})')
COLS = [b'Vo', b'Am', b'Wa', b'Wh', b'Pf', b'Hz', b'Kg', b'Eu']
def value(label, d):
    if label == b'Hz':
        return '%.2f' % (int(d[:-1]) / 100)
    m, p = int(d[:-1]), int(d[-1:])
    return str(m * 10 ** (p - 4)) if p >= 4 else ('%.*f' % (4 - p, m / 10 ** (4 - p)))
def main(src, dst, offset):
    out = open(dst, 'w')
    out.write('time,voltage_V,current_A,power_kW,energy_kWh,power_factor,frequency_Hz,kg,eu,raw\n')
    for m in LINE.finditer(open(src, 'rb').read()):
        f = dict((l, d) for d, l in FIELD.findall(m.group(1)))
        vals = [value(l, f[l]) if l in f else '' for l in COLS]
        t = '%s-%s-%sT%s:%s:%s%s' % (*(g.decode() for g in m.groups()[1:]), offset)
        out.write(','.join([t] + vals + [m.group(1).decode()]) + '\n')
main(sys.argv[1], sys.argv[2], sys.argv[3])
