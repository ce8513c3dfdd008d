#!/usr/bin/env python3
"""PyTorch peer of `gantry bench --family gan-cls`: the same networks, losses and step, timed the same way.

Workload (src/models/gan-cls.ts, dcgan.ts, src/nn/image-encoder.ts at their defaults): images size x size x C,
nz 100, ngf = ndf = 64, sentence vectors of 256, text projections of 128; GAN-CLS with GAN-INT (beta 0.5)
and the style encoder.
  Text projection (G's and D's own): LeakyReLU 0.2 (Linear(256 -> 128) with bias); D's with BatchNorm1d before
  the LeakyReLU (model.textNorm, as the authors' code).
  G: DCGAN's G (4x4 transposed convolutions without bias, BatchNorm, ReLU, tanh) on [z, projection].
  D: DCGAN's features down to 4x4 x c (4x4 stride-2 convolutions without bias, BatchNorm after the first,
     LeakyReLU 0.2); joined = LReLU(BN(conv1x1(h) + W_text projection)) (no biases: the 1x1 convolution of
     the depth-concatenated tiles, written as a sum); logit = conv4x4(joined) without bias.
  D's loss (matching-aware): softplus(-D(x, t)) + (softplus(D(x, t_wrong)) + softplus(D(G(z, t), t))) / 2,
  t_wrong the batch's sentence vectors rolled by a random shift. G's: softplus(-D(G(z, t), t)) +
  0.5 softplus(-D(G(z', t_mix), t_mix)) (model.interpolationWeight), t_mix = 0.5 t + 0.5 (t rolled). Step as pytorch/examples/dcgan: D on its
  three pairs, updated; then G through the updated D. Adam 2e-4 (0.5, 0.999).
  Style encoder S (4x4 stride-2 convolutions with bias and LeakyReLU down to 4x4, widths ndf doubling, the mean
  over positions, Linear to nz) learns z from the step's fakes (detached), MSE, Adam 1e-3 (0.9, 0.999).
  The fixed caption encoder (bench/caption_encoder_torch.py) runs forward on random word ids each step, without
  gradients, as gantry's does; it is not counted (gantry's bench prints it as params.T).
Prints one JSON line: median/min/max ms per step, images per second and the parameter counts of G, D and S
(gantry's bench: params.G, params.D, params.S).
Usage: gan_cls_torch.py [--device cpu|cuda] [--size 32|64] [--channels 3] [--batch 64] [--steps 10]
                        [--warmup 3] [--threads N]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, torch.nn as nn, torch.nn.functional as F
from peer_timing import count, peer_parser, report_step, start
from caption_encoder_torch import CaptionEncoder, report_text_generator

p = peer_parser(channels=3, batch=64)
p.add_argument('--ngf', type=int, default=64); p.add_argument('--ndf', type=int, default=64)
p.add_argument('--nz', type=int, default=100); p.add_argument('--embed', type=int, default=256)
p.add_argument('--projection', type=int, default=128)
a, dev = start(p)
B, E, P, ch = a.batch, a.embed, a.projection, a.channels
n_up = {32: 3, 64: 4}[a.size]
lrelu = lambda x: F.leaky_relu(x, 0.2)

class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.project = nn.Linear(E, P)
        c = a.ngf * 2 ** (n_up - 1)
        g = [nn.ConvTranspose2d(a.nz + P, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]  # 4x4
        for _ in range(n_up - 1):  # doubling the size, halving the channels
            g += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]; c //= 2
        g += [nn.ConvTranspose2d(c, ch, 4, 2, 1, bias=False), nn.Tanh()]  # size x size x C
        self.net = nn.Sequential(*g)
    def forward(self, z, t):
        return self.net(torch.cat([z, lrelu(self.project(t))], 1)[:, :, None, None])

class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.project = nn.Linear(E, P)
        self.project_norm = nn.BatchNorm1d(P)
        c = a.ndf
        d = [nn.Conv2d(ch, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n_up - 1):  # halving the size, doubling the channels, down to 4x4 x c
            d += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]; c *= 2
        self.features = nn.Sequential(*d)
        self.joint_image = nn.Conv2d(c, c, 1, bias=False)
        self.joint_text = nn.Linear(P, c, bias=False)
        self.joint_norm = nn.BatchNorm2d(c)
        self.head = nn.Conv2d(c, 1, 4, 1, 0, bias=False)
    def forward(self, x, t):
        h = self.features(x)
        text = self.joint_text(lrelu(self.project_norm(self.project(t))))[:, :, None, None]  # the same at each 4x4 position
        return self.head(lrelu(self.joint_norm(self.joint_image(h) + text))).view(-1)

class StyleEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        convs, c, w, size = [], ch, a.ndf, a.size
        while size > 4:
            convs.append(nn.Conv2d(c, w, 4, 2, 1)); c, w, size = w, w * 2, size // 2
        self.convs = nn.ModuleList(convs)
        self.out = nn.Linear(c, a.nz)
    def forward(self, x):
        for conv in self.convs: x = lrelu(conv(x))
        return self.out(x.mean((2, 3)))

g, d, s, text = G().to(dev), D().to(dev), StyleEncoder().to(dev), CaptionEncoder(E).to(dev)
oG = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
oD = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
oS = torch.optim.Adam(s.parameters(), 1e-3, betas=(0.9, 0.999))
real = torch.rand(B, ch, a.size, a.size, device=dev) * 2 - 1

def rolled(t):
    return torch.roll(t, -int(torch.randint(1, B, ())), 0)

def step():
    t = text.random_sentences(B, dev)
    wrong, mix = rolled(t), 0.5 * t + 0.5 * rolled(t)
    z, z_mix = torch.randn(B, a.nz, device=dev), torch.randn(B, a.nz, device=dev)
    fake = g(z, t)
    lossD = F.softplus(-d(real, t)).mean() + 0.5 * (F.softplus(d(real, wrong)).mean() + F.softplus(d(fake.detach(), t)).mean())
    oD.zero_grad(set_to_none=True); lossD.backward(); oD.step()
    lossG = F.softplus(-d(fake, t)).mean() + 0.5 * F.softplus(-d(g(z_mix, mix), mix)).mean()
    oG.zero_grad(set_to_none=True); lossG.backward(); oG.step()
    lossS = ((s(fake.detach()) - z) ** 2).mean()
    oS.zero_grad(set_to_none=True); lossS.backward(); oS.step()
    return lossG

workload = f'gan-cls {a.size}x{a.size}x{ch} ngf {a.ngf} ndf {a.ndf} batch {B}'
if a.generate:
    report_text_generator(g, text, a.nz, a, dev, B, workload)
else:
    report_step(step, dev, a.warmup, a.steps, B, workload, params_G=count(g), params_D=count(d), params_S=count(s))
