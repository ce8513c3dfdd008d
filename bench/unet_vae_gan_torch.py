#!/usr/bin/env python3
"""PyTorch peer of `gantry bench --family unet-vae-gan`: the same networks, losses and step, timed the same way.

Workload (src/models/unet-vae-gan.ts at its defaults): images size x size x C, width 32, latent 32, ndf 32,
alpha 0.5, skips modulated.
  encoder: per stage conv 4x4 stride 2 pad 1 (no bias), BatchNorm, LeakyReLU 0.2, channels w, 2w, ... down to
           4x4 (each stage's output is a skip); Linear(16 * top -> 2 * latent) = (mu, log sigma^2).
  decoder: Linear(latent -> 16 * top), ReLU, 4x4 x top; stage i: ConvTranspose 4x4 stride 2 pad 1 of
           [h, the skip of that scale] (concatenated) halving channels (no bias but the last, to C),
           BatchNorm + ReLU but the last; tanh.
  skips are multiplied by (1 + alpha * eps), fresh eps for D's pass and for the VAE's.
  D: DCGAN's (ndf 32, BatchNorm but on the first, LeakyReLU 0.2, a 4x4 valid conv to one logit), BCE on real
     images against decodings of prior noise with this batch's modulated skips, Adam 2e-4 (0.5, 0.999),
     updated first; then the U-Net minimises MSE (summed over pixels, mean over the batch) + KL
     + 0.1 * (-log D(decode(z_prior, skips))) through the updated D, Adam 1e-3 (0.9, 0.999).
Prints one JSON line: median/min/max ms per step, images per second and the parameter counts (gantry's bench
prints params_G and params_D: they must agree).
Usage: unet_vae_gan_torch.py [--device cpu|cuda] [--size 32|64] [--channels 1] [--width 32] [--latent 32]
                             [--ndf 32] [--batch 16] [--steps 10] [--warmup 3] [--threads N]
"""
import math, os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, torch.nn as nn, torch.nn.functional as F
from peer_timing import count, peer_parser, report_generate, report_step, start

p = peer_parser(channels=1, batch=16)
p.add_argument('--width', type=int, default=32); p.add_argument('--latent', type=int, default=32)
p.add_argument('--ndf', type=int, default=32)
a, dev = start(p)
stages, B, alpha = int(math.log2(a.size)) - 2, a.batch, 0.5

enc, skip_ch, c, w = nn.ModuleList(), [], a.channels, a.width
for _ in range(stages):
    enc.append(nn.Sequential(nn.Conv2d(c, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)))
    skip_ch.append(w); c, w = w, w * 2
top = c
head = nn.Linear(16 * top, 2 * a.latent)
fc = nn.Linear(a.latent, 16 * top)
dec, d = nn.ModuleList(), top
for i in range(stages):
    last = i == stages - 1
    out = a.channels if last else d // 2
    layers = [nn.ConvTranspose2d(d + skip_ch[stages - 1 - i], out, 4, 2, 1, bias=last)]
    if not last: layers += [nn.BatchNorm2d(out), nn.ReLU()]
    dec.append(nn.Sequential(*layers)); d = out
unet = nn.ModuleList([enc, head, fc, dec]).to(dev)
dl, c = [nn.Conv2d(a.channels, a.ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)], a.ndf
for _ in range(stages - 1):
    dl += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]; c *= 2
D = nn.Sequential(*dl, nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Flatten()).to(dev)
opt = torch.optim.Adam(unet.parameters(), lr=1e-3, betas=(0.9, 0.999))
optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
x = torch.rand(B, a.channels, a.size, a.size, device=dev) * 2 - 1

def encode(x):
    skips, h = [], x
    for stage in enc:
        h = stage(h); skips.append(h)
    mu, log_var = head(h.flatten(1)).chunk(2, dim=1)
    return mu, log_var, skips

def modulate(skips):
    return [s * (1 + alpha * torch.randn_like(s)) for s in skips]

def decode(z, skips):
    h = F.relu(fc(z)).view(B, top, 4, 4)
    for i, stage in enumerate(dec):
        h = stage(torch.cat([h, skips[stages - 1 - i]], 1))
    return torch.tanh(h)

def step():
    z_prior = torch.randn(B, a.latent, device=dev)
    with torch.no_grad(): fake = decode(z_prior, modulate(encode(x)[2]))
    lossD = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
    optD.zero_grad(set_to_none=True); lossD.backward(); optD.step()
    mu, log_var, skips = encode(x)
    skips = modulate(skips)
    y = decode(mu + torch.exp(0.5 * log_var) * torch.randn_like(mu), skips)
    recon = ((y - x) ** 2).sum() / B
    kl = (-0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(1)).mean()
    loss = recon + kl + 0.1 * F.softplus(-D(decode(z_prior, skips))).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return loss

workload = f'unet-vae-gan {a.size}x{a.size}x{a.channels} width {a.width} latent {a.latent} ndf {a.ndf} batch {B}'
if a.generate:  # as gantry's generate: reference images' skips, noise-modulated, decoded from prior noise
    unet.eval()
    z = torch.randn(B, a.latent, device=dev)
    report_generate(lambda: decode(z, modulate(encode(x)[2])), dev, a.warmup, a.steps, B, workload, params_G=count(unet))
else:
    report_step(step, dev, a.warmup, a.steps, B, workload, params_G=count(unet), params_D=count(D))
