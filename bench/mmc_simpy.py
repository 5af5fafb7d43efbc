# mmc_simpy.py - the M/M/c of bench/mmc_bare.c in SimPy 2 (Debian's
# python3-simpy, the SimPy.Simulation API): one Resource of c units, one
# process per request, FIFO. usage: python3 mmc_simpy.py C RHO REQUESTS SEED
import random
import sys
import time

from SimPy.Simulation import (Process, Resource, activate, hold, initialize, now,
                              release, request, simulate)

c, rho, n, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
lam = rho * c
done = [0, 0.0]


class Req(Process):
    def run(self, res):
        arrived = now()
        yield request, self, res
        done[1] += now() - arrived
        yield hold, self, rng.expovariate(1.0)
        yield release, self, res
        done[0] += 1


class Source(Process):
    def run(self, res):
        for _ in range(n):
            yield hold, self, rng.expovariate(lam)
            r = Req()
            activate(r, r.run(res))


initialize()
res = Resource(capacity=c)
src = Source()
activate(src, src.run(res))
t0 = time.perf_counter()
simulate(until=1e18)
wall = time.perf_counter() - t0
print("simpy c=%d requests=%d wall_s=%.4f req_per_s=%.0f mean_wait_s=%.4f"
      % (c, done[0], wall, done[0] / wall, done[1] / max(done[0], 1)))
