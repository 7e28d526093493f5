#!/usr/bin/env python3
"""Writes watt-100m.txt: ~100 MiB of watt.txt records (random live frames whose
power agrees with volts x amperes x power factor, one second apart), the input
of the com decode figures in docs/performance.md."""
import random, datetime, sys
random.seed(1)
start = datetime.datetime(2011,1,5,7,57,32)
out = open('watt-100m.txt','w', newline='')
n = 0; size = 0
target = 100*1024*1024
while size < target:
    fields = [(2100+random.randrange(200),3,'Vo'),(1000+random.randrange(9000),2,'Am'),(None,None,'Wa'),(random.randrange(10000),1+random.randrange(4),'Wh'),(500+random.randrange(500),1,'Pf'),(5990+random.randrange(20),1,'Hz'),(0,1,'Kg'),(0,1,'Eu')]
    # power consistent: W = V*A*PF in kW, point digit encoding
    v = fields[0][0]/10; a = fields[1][0]/100; pf = fields[4][0]/1000
    kw = v*a*pf/1000
    d = 1
    while kw >= 10**d: d += 1
    m = round(kw*10**(4-d))
    if m >= 10000: d += 1; m = round(kw*10**(4-d))
    fields[2] = (m, d, 'Wa')
    s = 'S'
    for m_, d_, l in fields:
        digits = f'0{d_}' if m_ == 0 else f'{m_}{d_}'
        s += ':' + digits.rjust(7) + l
    s += '  E'
    t = start + datetime.timedelta(seconds=n)
    s += t.strftime('[%Y-%m-%d %H:%M:%S] \n')
    out.write(s); size += len(s); n += 1
print(n)
