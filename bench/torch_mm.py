#!/usr/bin/env python3
"""torch.mm on n x n float32 matrices: PyTorch's SGEMM GFLOP/s, the reference for gantry's sgemm1024.
Usage: /usr/bin/python3 bench/torch_mm.py [--n 1024] [--threads 2] [--repeats 20]. Prints one JSON line."""
import argparse, json, os, time
p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=1024); p.add_argument('--threads', type=int, default=os.cpu_count())
p.add_argument('--repeats', type=int, default=20)
a = p.parse_args()
# torch.mm on Debian's build calls OpenBLAS, whose thread count is its own setting.
os.environ['OPENBLAS_NUM_THREADS'] = str(a.threads)
import torch
torch.set_num_threads(a.threads)
x, y = torch.randn(a.n, a.n), torch.randn(a.n, a.n)
for _ in range(3): torch.mm(x, y)
ts = []
for _ in range(a.repeats):
    t0 = time.perf_counter(); torch.mm(x, y); ts.append(time.perf_counter() - t0)
ts.sort(); med = ts[len(ts) // 2]
print(json.dumps({'peer': 'pytorch', 'workload': f'sgemm{a.n}', 'threads': a.threads, 'median_ms': round(med * 1000, 3),
                  'gflops': round(2 * a.n ** 3 / med / 1e9, 1)}))
