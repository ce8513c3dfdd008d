#!/usr/bin/env python3
"""PyTorch peer for generator inference throughput: DCGAN's G (as ../shared/peers/dcgan_torch.py
builds it) in eval mode under torch.no_grad, timing G(z) for a batch of latent vectors, synchronised.
Usage: generator_torch.py [--device cuda|cpu] [--size 32|64] [--batch 256] [--steps 20] [--warmup 3] [--threads N]
Prints one JSON line: median ms per batch and images per second (bench/peer_timing.py's).
--project N [--starts 8] times projection's step instead (`gantry bench --family dcgan --project --images N`):
Adam on the starts' latent vectors of N images at once (N x starts), G in eval mode with its weights fixed,
the sum of each vector's mean squared error to its image, then the vectors scaled back to the sphere of
radius sqrt(nz), as gantry's src/explore/project.ts steps."""
import argparse, math
import torch, torch.nn as nn
from peer_timing import report_generate, report_step

p = argparse.ArgumentParser()
p.add_argument('--device', default='cuda'); p.add_argument('--size', type=int, default=64)
p.add_argument('--batch', type=int, default=256); p.add_argument('--steps', type=int, default=20)
p.add_argument('--warmup', type=int, default=3); p.add_argument('--ngf', type=int, default=64); p.add_argument('--nz', type=int, default=100)
p.add_argument('--threads', type=int, default=None); p.add_argument('--project', type=int, default=0); p.add_argument('--starts', type=int, default=8)
a = p.parse_args()
if a.threads: torch.set_num_threads(a.threads)
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

if a.project:
    # Projection: the targets' pixels do not change the work, so they are uniform noise in [-1, 1].
    G.requires_grad_(False)
    n = a.project * a.starts
    goal = torch.rand(n, ch, a.size, a.size, device=dev) * 2 - 1
    z = torch.randn(n, a.nz, 1, 1, device=dev)
    z = (z * math.sqrt(a.nz) / z.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.1, betas=(0.9, 0.999))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((G(z) - goal) ** 2).mean(dim=(1, 2, 3)).sum()
        loss.backward(); opt.step()
        with torch.no_grad(): z.mul_(math.sqrt(a.nz) / z.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1))
        return loss
    report_step(step, dev, a.warmup, a.steps, n, f'dcgan{a.size} project', images=a.project, starts=a.starts, params_G=sum(p.numel() for p in G.parameters()))
else:
    # Timed as every peer times a draw (bench/peer_timing.py: warm-up, then each batch until the device is idle).
    report_generate(lambda: G(torch.randn(a.batch, a.nz, 1, 1, device=dev)), dev, a.warmup, a.steps, a.batch, f'dcgan{a.size}', size=a.size)
