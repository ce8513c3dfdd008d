#!/usr/bin/env python3
"""PyTorch peer of `gantry bench --family cgan` and `--family acgan`: the same networks, losses and step.

Workload (src/models/conditional.ts, cgan.ts, acgan.ts at their defaults): DCGAN's G and D as in
../shared/peers/dcgan_torch.py (4x4 convolutions, no biases, BatchNorm, ngf = ndf = 64, nz 100), K classes.
  G: z * (onehot(y) @ E), E [K, nz] without bias (conditioning "multiply"), then DCGAN's G.
  cgan D (projection, Miyato & Koyama): h = D's features (all but the last conv), logit = conv4x4(h) +
     sum over positions of <h, onehot(y) @ V>, V [K, c] without bias; BCE (non-saturating G).
  acgan D: logit = conv4x4(h), class logits = Linear(flatten(h) -> K) with bias; D minimises
     BCE + CE(real) + CE(fake), G its non-saturating BCE + CE(fake).
  Step as pytorch/examples/dcgan: one G forward; D on real and detached fake, updated; G through the updated
  D. Adam 2e-4 (0.5, 0.999). Random "images" in [-1, 1] with random labels, fresh z and fake labels each step.
  --r1 GAMMA (gantry's model.r1): D's loss adds GAMMA/2 x the mean squared norm of d(sum of real logits)/d(real),
     kept in the graph (StyleGAN2's R1).
Prints one JSON line: median/min/max ms per step, images per second and the parameter counts (gantry's bench
prints params_G and params_D: they must agree).
Usage: cgan_torch.py [--family cgan|acgan] [--device cpu|cuda] [--size 32|64] [--channels 1] [--classes 10]
                     [--batch 64] [--ngf 64] [--ndf 64] [--r1 0] [--steps 10] [--warmup 3] [--threads N]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, torch.nn as nn, torch.nn.functional as F
from peer_timing import count, peer_parser, report_generate, report_step, start

p = peer_parser(channels=1, batch=64)
p.add_argument('--family', default='cgan', choices=['cgan', 'acgan'])
p.add_argument('--classes', type=int, default=10)
p.add_argument('--ngf', type=int, default=64); p.add_argument('--ndf', type=int, default=64)
p.add_argument('--nz', type=int, default=100)
p.add_argument('--r1', type=float, default=0)
a, dev = start(p)
n_up = {32: 3, 64: 4}[a.size]
ch, K, B = a.channels, a.classes, a.batch

c = a.ngf * 2 ** (n_up - 1)
g = [nn.ConvTranspose2d(a.nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
for _ in range(n_up - 1):
    g += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]; c //= 2
g += [nn.ConvTranspose2d(c, ch, 4, 2, 1, bias=False), nn.Tanh()]
G = nn.Sequential(*g).to(dev)
E = nn.Linear(K, a.nz, bias=False).to(dev)
c = a.ndf
d = [nn.Conv2d(ch, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
for _ in range(n_up - 1):
    d += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]; c *= 2
features = nn.Sequential(*d).to(dev)
head = nn.Conv2d(c, 1, 4, 1, 0, bias=False).to(dev)
if a.family == 'cgan':
    extra = nn.Linear(K, c, bias=False).to(dev)  # the projection's class embedding
else:
    extra = nn.Linear(16 * c, K).to(dev)  # the auxiliary classifier
g_params = list(G.parameters()) + list(E.parameters())
d_params = list(features.parameters()) + list(head.parameters()) + list(extra.parameters())
oG = torch.optim.Adam(g_params, 2e-4, betas=(0.5, 0.999))
oD = torch.optim.Adam(d_params, 2e-4, betas=(0.5, 0.999))

def generate(z, onehot):
    return G((z * E(onehot)).view(B, a.nz, 1, 1))

def critic(x, onehot):
    """(real/fake logits [B], class logits [B, K] or None)"""
    h = features(x)
    logit = head(h).view(B)
    if a.family == 'cgan':
        return logit + (h.sum((2, 3)) * extra(onehot)).sum(1), None
    return logit, extra(h.flatten(1))

def step():
    real = torch.rand(B, ch, a.size, a.size, device=dev) * 2 - 1
    real_y = torch.randint(0, K, (B,), device=dev)
    fake_y = torch.randint(0, K, (B,), device=dev)
    real_1h, fake_1h = F.one_hot(real_y, K).float(), F.one_hot(fake_y, K).float()
    z = torch.randn(B, a.nz, device=dev)
    fake = generate(z, fake_1h)
    oD.zero_grad(set_to_none=True)
    real.requires_grad_(a.r1 > 0)
    (rs, rc), (fs, fc) = critic(real, real_1h), critic(fake.detach(), fake_1h)
    lossD = F.softplus(-rs).mean() + F.softplus(fs).mean()
    if rc is not None: lossD = lossD + F.cross_entropy(rc, real_y) + F.cross_entropy(fc, fake_y)
    if a.r1 > 0:
        grad, = torch.autograd.grad(rs.sum(), real, create_graph=True)
        lossD = lossD + grad.square().sum((1, 2, 3)).mean() * (a.r1 / 2)
    lossD.backward(); oD.step()
    oG.zero_grad(set_to_none=True)
    s, cl = critic(fake, fake_1h)
    lossG = F.softplus(-s).mean()
    if cl is not None: lossG = lossG + F.cross_entropy(cl, fake_y)
    lossG.backward(); oG.step()
    return lossD, lossG

workload = f'{a.family} {a.size}x{a.size}x{ch} classes {K} ngf {a.ngf} ndf {a.ndf} batch {B}' + (f' r1 {a.r1:g}' if a.r1 else '')
if a.generate:  # G on noise and classes i % K, as gantry's sample grid asks
    G.eval()
    z, onehot = torch.randn(B, a.nz, device=dev), F.one_hot(torch.arange(B, device=dev) % K, K).float()
    report_generate(lambda: generate(z, onehot), dev, a.warmup, a.steps, B, workload, params_G=count(g_params))
else:
    report_step(lambda: step()[1], dev, a.warmup, a.steps, B, workload, params_G=count(g_params), params_D=count(d_params))
