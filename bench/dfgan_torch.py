#!/usr/bin/env python3
"""PyTorch peer of `gantry bench --family dfgan`: the same G and D, losses and step, timed the same way.

Workload (src/models/dfgan.ts, src/nn/dfgan-blocks.ts at their defaults): images size x size x C, nz 100,
ngf = ndf = 32, sentence vectors of 256.
  G: Linear(nz -> 4x4 x 8 ngf); up-blocks (nearest 2x, then shortcut + conv3x3(fuse(conv3x3(fuse(x))))
     with a 1x1 shortcut where the channels change; fuse = Affine, LeakyReLU 0.2, Affine, LeakyReLU 0.2;
     Affine = x * gamma(c) + beta(c), each a Linear-ReLU-Linear of c, the noise z and the sentence vector
     concatenated, as the official NetG does) through channel
     multiples min(2^i, 8), i < log2(size) - 1, reversed, of ngf ([8, 8, 4, 2, 1] at 64; get_G_in_out_chs); LeakyReLU, conv3x3 with bias to C, tanh.
  D: conv3x3 with bias; down-blocks (avgpool2(shortcut(x)) + gamma * LReLU(conv3x3(LReLU(conv4x4/2(x)))),
     convs without bias, a 1x1 shortcut with bias where the channels change, gamma a scalar starting at 0)
     to 4x4 x 8 ndf; the head: the sentence vector replicated at each position, concatenated, conv3x3
     (no bias) to 2 ndf, LeakyReLU, conv4x4 (no bias) to one score.
  D's loss: hinge on (real, caption) + (mismatched: image i+1's features with caption i, fake) / 2 + MA-GP
  (2 * mean(|(d score / d image, d score / d sentence)|^6) on the real pairs, a double backward); G's:
  -D(fake). Adam (0, 0.9), lr 1e-4 (G) and 4e-4 (D); D updated first, G through the updated D.
  The fixed caption encoder (word table of 5,000 + 2 rows x 64, two width-3 convolutions of 256, max over
  32 words, Linear to 256, unit rows times 16) runs forward on random word ids each step, without gradients,
  as gantry's does; it is not counted in params_G (gantry's bench prints it as params.T).
Prints one JSON line: median/min/max ms per step, images per second and the parameter counts of G and D
(gantry's bench: params.G and params.D).
Usage: dfgan_torch.py [--device cpu|cuda] [--size 32|64|128|256] [--channels 3] [--batch 16] [--steps 10]
                      [--warmup 3] [--threads N]
"""
import math, os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, torch.nn as nn, torch.nn.functional as F
from peer_timing import count, peer_parser, report_step, start
from caption_encoder_torch import CaptionEncoder, report_text_generator

p = peer_parser(channels=3, batch=16)
p.add_argument('--ngf', type=int, default=32); p.add_argument('--ndf', type=int, default=32)
p.add_argument('--nz', type=int, default=100); p.add_argument('--embed', type=int, default=256)
a, dev = start(p)
B, E = a.batch, a.embed
mult = [min(2 ** i, 8) for i in range(int(math.log2(a.size)) - 1)][::-1]
lrelu = lambda x: F.leaky_relu(x, 0.2)

class Affine(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Sequential(nn.Linear(a.nz + E, c), nn.ReLU(), nn.Linear(c, c))
        self.beta = nn.Sequential(nn.Linear(a.nz + E, c), nn.ReLU(), nn.Linear(c, c))
    def forward(self, x, e):
        return x * self.gamma(e)[:, :, None, None] + self.beta(e)[:, :, None, None]

class Fuse(nn.Module):
    def __init__(self, c):
        super().__init__(); self.a0, self.a1 = Affine(c), Affine(c)
    def forward(self, x, e):
        return lrelu(self.a1(lrelu(self.a0(x, e)), e))

class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.f1, self.f2 = Fuse(cin), Fuse(cout)
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None
    def forward(self, x, e):
        up = F.interpolate(x, scale_factor=2, mode='nearest')
        res = self.c2(self.f2(self.c1(self.f1(up, e)), e))
        return (self.sc(up) if self.sc is not None else up) + res

class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.r1, self.r2 = nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.gamma = nn.Parameter(torch.zeros(1))
    def forward(self, x):
        res = lrelu(self.r2(lrelu(self.r1(x))))
        return F.avg_pool2d(self.sc(x) if self.sc is not None else x, 2) + self.gamma * res

class G(nn.Module):
    def __init__(self):
        super().__init__()
        w = [k * a.ngf for k in mult]
        self.w0 = w[0]
        self.fc = nn.Linear(a.nz, 16 * w[0])
        self.blocks = nn.ModuleList(Up(w[i], w[i + 1]) for i in range(len(w) - 1))
        self.to_image = nn.Conv2d(w[-1], a.channels, 3, 1, 1)
    def forward(self, z, e):
        h = self.fc(z).view(B, self.w0, 4, 4)
        c = torch.cat([z, e], 1)
        for b in self.blocks: h = b(h, c)
        return torch.tanh(self.to_image(lrelu(h)))

class D(nn.Module):
    def __init__(self):
        super().__init__()
        w = [k * a.ndf for k in reversed(mult)]
        self.from_image = nn.Conv2d(a.channels, w[0], 3, 1, 1)
        self.blocks = nn.ModuleList(Down(w[i], w[i + 1]) for i in range(len(w) - 1))
        self.joint = nn.Conv2d(w[-1] + E, 2 * a.ndf, 3, 1, 1, bias=False)
        self.out = nn.Conv2d(2 * a.ndf, 1, 4, 1, 0, bias=False)
    def features(self, x):
        h = self.from_image(x)
        for b in self.blocks: h = b(h)
        return h
    def score(self, h, e):
        text = e[:, :, None, None].expand(-1, -1, 4, 4)
        return self.out(lrelu(self.joint(torch.cat([h, text], 1)))).view(-1)

g, d, text = G().to(dev), D().to(dev), CaptionEncoder(E).to(dev)
oG = torch.optim.Adam(g.parameters(), 1e-4, betas=(0.0, 0.9))
oD = torch.optim.Adam(d.parameters(), 4e-4, betas=(0.0, 0.9))
real = torch.rand(B, a.channels, a.size, a.size, device=dev) * 2 - 1

def step():
    e = text.random_sentences(B, dev)
    z = torch.randn(B, a.nz, device=dev)
    fake = g(z, e)
    x, s = real.clone().requires_grad_(True), e.clone().requires_grad_(True)
    features = d.features(x)
    real_scores = d.score(features, s)
    gx, gs = torch.autograd.grad(real_scores.sum(), (x, s), create_graph=True)
    mismatched = d.score(torch.roll(features, -1, 0), e)
    fake_scores = d.score(d.features(fake.detach()), e)
    ma_gp = 2 * ((gx ** 2).sum((1, 2, 3)) + (gs ** 2).sum(1)).pow(3).mean()
    lossD = F.relu(1 - real_scores).mean() + 0.5 * (F.relu(1 + mismatched).mean() + F.relu(1 + fake_scores).mean()) + ma_gp
    oD.zero_grad(set_to_none=True); lossD.backward(); oD.step()
    lossG = -d.score(d.features(fake), e).mean()
    oG.zero_grad(set_to_none=True); lossG.backward(); oG.step()
    return lossG

workload = f'dfgan {a.size}x{a.size}x{a.channels} ngf {a.ngf} ndf {a.ndf} batch {B}'
if a.generate:
    report_text_generator(g, text, a.nz, a, dev, B, workload)
else:
    report_step(step, dev, a.warmup, a.steps, B, workload, params_G=count(g), params_D=count(d))
