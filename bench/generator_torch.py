#!/usr/bin/env python3
"""PyTorch peer for generator inference throughput: DCGAN's G (as ../shared/peers/dcgan_torch.py
builds it) in eval mode under torch.no_grad, timing G(z) for a batch of latent vectors, synchronised.
Usage: generator_torch.py [--device cuda|cpu] [--size 32|64] [--batch 256] [--steps 20] [--warmup 3]
Prints one JSON line: median ms per batch and images per second (bench/peer_timing.py's)."""
import argparse
import torch, torch.nn as nn
from peer_timing import report_generate

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

# Timed as every peer times a draw (bench/peer_timing.py: warm-up, then each batch until the device is idle).
report_generate(lambda: G(torch.randn(a.batch, a.nz, 1, 1, device=dev)), dev, a.warmup, a.steps, a.batch, f'dcgan{a.size}', size=a.size)
