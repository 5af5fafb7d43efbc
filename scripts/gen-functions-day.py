#!/usr/bin/env python3
"""gen-functions-day.py - writes scenarios/traces/functions-day.csv, a small
synthetic excerpt in the Azure Functions 2019 layout
(invocations_per_function_md.anon.dNN.csv: HashOwner, HashApp, HashFunction,
Trigger, then 1440 per-minute invocation counts of one day), and
functions-day-durations.csv in the layout of
function_durations_percentiles.anon.dNN.csv (HashOwner, HashApp,
HashFunction, Average, Count, Minimum, Maximum, percentile_Average_0, _1,
_25, _50, _75, _99, _100; milliseconds).

50 functions of 20 apps. Their daily volumes follow a Zipf law (as in the
published trace, a few functions take most invocations); http functions
follow a daily cycle peaking at 14:00, timer functions fire every k minutes,
queue and event functions come in bursts. Seeded: the same file every time.
Not real data: the real files are CC-BY from Azure's public dataset."""
import hashlib
import math
import random

rng = random.Random(20191)
MINUTES = 1440


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()


rows = []
for i in range(50):
    app = i % 20
    owner = app % 8
    trig = ["http", "http", "timer", "queue", "event"][i % 5]
    daily = 12000.0 / (i + 1) ** 1.1  # Zipf: the busiest about 12000 a day
    c = [0] * MINUTES
    if trig == "http":
        for m in range(MINUTES):
            shape = 0.25 + 0.75 * (1 + math.cos(2 * math.pi * (m - 840) / MINUTES)) / 2
            lam = daily * shape / (MINUTES * 0.625)
            # Poisson draw by inversion (small means)
            x, p, u = 0, math.exp(-lam), rng.random()
            s = p
            while u > s and x < 10000:
                x += 1
                p *= lam / x
                s += p
            c[m] = x
    elif trig == "timer":
        every = [1, 5, 15, 60][i % 4]
        for m in range(0, MINUTES, every):
            c[m] = 1
    else:
        n_bursts = max(1, int(daily / 200))
        for _ in range(n_bursts):
            m = rng.randrange(MINUTES)
            size = int(rng.paretovariate(1.5) * daily / n_bursts / 3) + 1
            for k in range(rng.randint(1, 4)):
                if m + k < MINUTES:
                    c[m + k] += size // (k + 1)
    rows.append([h(f"owner{owner}"), h(f"app{app}"), h(f"func{i}"), trig] + c)

with open("scenarios/traces/functions-day.csv", "w") as f:
    f.write("HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, MINUTES + 1)) + "\n")
    for r in rows:
        f.write(",".join(str(x) for x in r) + "\n")

with open("scenarios/traces/functions-day-durations.csv", "w") as f:
    f.write("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
            "percentile_Average_1,percentile_Average_25,percentile_Average_50,"
            "percentile_Average_75,percentile_Average_99,percentile_Average_100\n")
    for r in rows:
        # Lognormal durations, median 20 ms .. 2 s, sigma 0.3 .. 1.2.
        med = math.exp(rng.uniform(math.log(20), math.log(2000)))
        sigma = rng.uniform(0.3, 1.2)
        pct = [med * math.exp(sigma * z) for z in (-3.09, -2.326, -0.674, 0, 0.674, 2.326, 3.09)]
        avg = med * math.exp(sigma * sigma / 2)
        count = sum(r[4:])
        vals = [avg, count, pct[0], pct[6]] + pct
        f.write(",".join(r[:3]) + "," + ",".join(
            str(int(v)) if i == 1 else f"{v:.2f}" for i, v in enumerate(vals)) + "\n")

# functions-day-memory.csv, in the layout of app_memory_percentiles.anon.dNN.csv
# (HashOwner, HashApp, SampleCount, AverageAllocatedMb, AverageAllocatedMb_pct1,
# _pct5, _pct25, _pct50, _pct75, _pct95, _pct99, _pct100; MB), one row per app
# of the 20. Its own seed, so the two files above stay as they were. Lognormal
# average allocation, median 150 MB, sigma 0.5 across apps (synthetic).
mem_rng = random.Random(20192)
with open("scenarios/traces/functions-day-memory.csv", "w") as f:
    f.write("HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,"
            "AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,"
            "AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,"
            "AverageAllocatedMb_pct100\n")
    for app in range(20):
        avg = 150 * math.exp(mem_rng.gauss(0, 0.5))
        spread = mem_rng.uniform(0.05, 0.3)
        pct = [avg * math.exp(spread * z) for z in (-2.326, -1.645, -0.674, 0, 0.674, 1.645, 2.326, 3.09)]
        samples = mem_rng.randint(500, 17280)
        f.write(f"{h(f'owner{app % 8}')},{h(f'app{app}')},{samples},{avg:.2f}," +
                ",".join(f"{v:.2f}" for v in pct) + "\n")
