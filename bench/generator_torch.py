#!/usr/bin/env python3
"""PyTorch peer for generator inference throughput: DCGAN's G (as ../shared/peers/dcgan_torch.py
builds it) in eval mode under torch.no_grad, timing G(z) for a batch of latent vectors, synchronised.
Usage: generator_torch.py [--device cuda|cpu] [--size 32|64] [--batch 256] [--steps 20] [--warmup 3]
Prints one JSON line: median ms per batch and images per second."""
import argparse, json, time
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--device', default='cuda'); p.add_argument('--size', type=int, default=64)
p.add_argument('--batch', type=int, default=256); p.add_argument('--steps', type=int, default=20)
p.add_argument('--warmup', type=int, default=3); p.add_argument('--ngf', type=int, default=64); p.add_argument('--nz', type=int, default=100)
a = p.parse_args()
ch = 1 if a.size == 32 else 3
n_up = {32: 3, 64: 4}[a.size]
dev = torch.device(a.device)
torch.manual_seed(0)
c = a.ngf * 2 ** (n_up - 1)
g = [nn.ConvTranspose2d(a.nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
for _ in range(n_up - 1):
    g += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]; c //= 2
g += [nn.ConvTranspose2d(c, ch, 4, 2, 1, bias=False), nn.Tanh()]
G = nn.Sequential(*g).to(dev).eval()

def sync():
    if dev.type == 'cuda': torch.cuda.synchronize()

with torch.no_grad():
    for _ in range(a.warmup): G(torch.randn(a.batch, a.nz, 1, 1, device=dev))
    sync(); ts = []
    for _ in range(a.steps):
        t0 = time.perf_counter(); G(torch.randn(a.batch, a.nz, 1, 1, device=dev)); sync(); ts.append((time.perf_counter() - t0) * 1000)
ts.sort(); med = ts[len(ts) // 2]
print(json.dumps({'peer': 'pytorch', 'device': a.device, 'size': a.size, 'batch': a.batch, 'median_ms': round(med, 3), 'images_per_s': round(a.batch / med * 1000, 1)}))
