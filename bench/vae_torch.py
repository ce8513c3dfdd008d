#!/usr/bin/env python3
"""PyTorch peer of `gantry bench --family vae` (and, with --gan, `--family vae-gan`): the same networks,
losses and optimizers, timed the same way.

Workload (src/models/vae.ts at its defaults): images size x size x C (32x32x1, MNIST's), width 32, latent 32.
  encoder: per stage conv 4x4 stride 2 pad 1 (no bias), BatchNorm, LeakyReLU 0.2, channels width, 2w, ...
           down to 4x4; Linear(16 * c -> 2 * latent) = (mu, log sigma^2).
  decoder: Linear(latent -> 16 * top), ReLU, reshape 4x4 x top (top = width * 2^(stages-1)); per stage
           ConvTranspose 4x4 stride 2 pad 1 halving channels (no bias but the last, to C), BatchNorm + ReLU
           but the last; tanh.
  loss: squared error summed over pixels, averaged over the batch, + KL (sum over latent, mean over batch).
  Adam lr 1e-3, betas (0.9, 0.999). Random "images" in [-1, 1], fresh noise each step.
  --gan (src/models/vae-gan.ts): a DCGAN discriminator (ndf 32: 4x4 stride-2 convs without bias, BatchNorm
  but on the first, LeakyReLU 0.2, a 4x4 valid conv to one logit) judges decoder samples of prior noise
  against the images, BCE, Adam 2e-4 (0.5, 0.999), updated first; then the VAE minimises its loss
  + 0.1 * (-log D(Dec(z_prior))) through the updated D (the decoder runs on z_prior again, with gradients).
Prints one JSON line: median/min/max ms per step, images per second and the parameter count (gantry's
bench prints params_G: they must agree).
Usage: vae_torch.py [--gan] [--ndf 32] [--device cpu|cuda] [--size 32|64] [--channels 1] [--width 32] [--latent 32]
                    [--batch 16] [--steps 10] [--warmup 3] [--threads N]
"""
import math, os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, torch.nn as nn
from peer_timing import count, peer_parser, report_generate, report_step, start

p = peer_parser(channels=1, batch=16)
p.add_argument('--width', type=int, default=32); p.add_argument('--latent', type=int, default=32)
p.add_argument('--gan', action='store_true'); p.add_argument('--ndf', type=int, default=32)
a, dev = start(p)
stages = int(math.log2(a.size)) - 2

enc, c, w = [], a.channels, a.width
for _ in range(stages):
    enc += [nn.Conv2d(c, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)]
    c, w = w, w * 2
enc = nn.Sequential(*enc, nn.Flatten(), nn.Linear(16 * c, 2 * a.latent)).to(dev)
top = a.width * 2 ** (stages - 1)
dec, c = [], top
for i in range(stages):
    last = i == stages - 1
    out = a.channels if last else c // 2
    dec += [nn.ConvTranspose2d(c, out, 4, 2, 1, bias=last)] + ([] if last else [nn.BatchNorm2d(out), nn.ReLU()])
    c = out
fc = nn.Sequential(nn.Linear(a.latent, 16 * top), nn.ReLU()).to(dev)
dec = nn.Sequential(*dec, nn.Tanh()).to(dev)
params = list(enc.parameters()) + list(fc.parameters()) + list(dec.parameters())
opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999))
x = torch.rand(a.batch, a.channels, a.size, a.size, device=dev) * 2 - 1
if a.gan:
    d, c = [nn.Conv2d(a.channels, a.ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)], a.ndf
    for _ in range(stages - 1):
        d += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]; c *= 2
    D = nn.Sequential(*d, nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Flatten()).to(dev)
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    softplus = nn.functional.softplus

def decode(z):
    return dec(fc(z).view(a.batch, top, 4, 4))

def step():
    if a.gan:
        z_prior = torch.randn(a.batch, a.latent, device=dev)
        with torch.no_grad(): fake = decode(z_prior)
        lossD = softplus(-D(x)).mean() + softplus(D(fake)).mean()
        optD.zero_grad(set_to_none=True); lossD.backward(); optD.step()
    mu, log_var = enc(x).chunk(2, dim=1)
    z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
    y = decode(z)
    recon = ((y - x) ** 2).sum() / a.batch
    kl = (-0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(1)).mean()
    loss = recon + kl
    if a.gan: loss = loss + 0.1 * softplus(-D(decode(z_prior))).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss

workload = f"vae{'-gan' if a.gan else ''} {a.size}x{a.size}x{a.channels} width {a.width} latent {a.latent} batch {a.batch}"
if a.generate:  # the decoder on prior noise, as gantry's generate
    fc.eval(); dec.eval()
    z = torch.randn(a.batch, a.latent, device=dev)
    report_generate(lambda: decode(z), dev, a.warmup, a.steps, a.batch, workload, params=count(params))
else:
    report_step(step, dev, a.warmup, a.steps, a.batch, workload, params=count(params), **({'params_D': count(D)} if a.gan else {}))
