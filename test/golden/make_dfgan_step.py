#!/usr/bin/env python3
"""Golden values for gantry's DF-GAN training step, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_dfgan_step.py  ->  test/golden/dfgan_step.json, dfgan_step_{init,final}.pth

DF-GAN as its authors' code builds and trains it (tobran/DF-GAN, code/models/GAN.py and code/lib/modules.py),
written out here in plain torch at a small size (32x32 RGB, nz 8, ngf = ndf = 4, sentence vectors of 16):
  G: Linear(nz -> 8 ngf x 4 x 4, viewed NCHW); blocks of nearest 2x up-sampling, then shortcut(x) +
     c2(fuse2(c1(fuse1(x)))), fuse = Affine, LeakyReLU 0.2, Affine, LeakyReLU 0.2, each Affine x * gamma(c) +
     beta(c) with gamma and beta Linear-ReLU-Linear MLPs of c = [noise, sentence] (NetG concatenates them),
     their last layers zero with gamma's bias 1; LeakyReLU, conv3x3, tanh.
  D: conv3x3; down-blocks avgpool2(shortcut(x)) + gamma * LReLU(conv3x3(LReLU(conv4x4/2(x)))), gamma from 0;
     NetC: the sentence replicated at the 4x4 positions, concatenated, conv3x3 (no bias), LeakyReLU, conv4x4.
  The step of modules.train: D's hinge loss on the real pairs, the mismatched pairs (image i+1's features with
  sentence i) and the detached fake, errD = real + (fake + mismatched) / 2 + MA-GP (2 * mean(|(d out / d image,
  d out / d sentence)|^6), a double backward), D updated; then errG = -mean(D(fake, sentence)) through the
  updated D, G updated. Adam betas (0, 0.9), lr 1e-4 (G) and 4e-4 (D).
The sentence vectors are given (the fixed text encoder's output) and so is the noise, 3 steps of batch 4 (the
photos' 8-bit levels, NHWC, as base64); D's
last convolution starts 5 times PyTorch's default, so that MA-GP is a real part of D's loss.
Saved with gantry's parameter names (G: fc, block{i}.{c1,c2,sc}, block{i}.fuse{1,2}.affine{0,1}.{gamma,beta}.{0,1},
toImage; D: fromImage, block{i}.{r1,r2,sc,gamma}, joint, out); fc's rows in gantry's order (its output is
viewed NHWC there), so the networks are the same.
"""
import json, os, re, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_photos import levels_base64, random_photos  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, CH, NZ, NGF, NDF, EMB, N, STEPS = 32, 3, 8, 4, 4, 16, 4, 3
MULT = [8, 4, 2, 1]  # 32x32: four blocks' widths from 4x4 up (G), reversed down to 4x4 (D)
lrelu = lambda x: F.leaky_relu(x, 0.2)


class Affine(nn.Module):
    def __init__(s, cond, c):
        super().__init__()
        s.gamma = nn.ModuleList([nn.Linear(cond, c), nn.Linear(c, c)])
        s.beta = nn.ModuleList([nn.Linear(cond, c), nn.Linear(c, c)])
        nn.init.zeros_(s.gamma[1].weight); nn.init.ones_(s.gamma[1].bias)
        nn.init.zeros_(s.beta[1].weight); nn.init.zeros_(s.beta[1].bias)

    def forward(s, x, c):
        g = s.gamma[1](F.relu(s.gamma[0](c)))
        b = s.beta[1](F.relu(s.beta[0](c)))
        return x * g[:, :, None, None] + b[:, :, None, None]


class Fuse(nn.Module):
    def __init__(s, cond, c):
        super().__init__()
        s.affine0, s.affine1 = Affine(cond, c), Affine(cond, c)

    def forward(s, x, c): return lrelu(s.affine1(lrelu(s.affine0(x, c)), c))


class GBlock(nn.Module):
    def __init__(s, cond, cin, cout):
        super().__init__()
        s.c1, s.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        s.fuse1, s.fuse2 = Fuse(cond, cin), Fuse(cond, cout)
        s.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(s, x, c):
        x = F.interpolate(x, scale_factor=2)
        return (s.sc(x) if s.sc is not None else x) + s.c2(s.fuse2(s.c1(s.fuse1(x, c)), c))


class NetG(nn.Module):
    def __init__(s):
        super().__init__()
        w = [k * NGF for k in MULT]
        s.fc = nn.Linear(NZ, w[0] * 16)
        s.blocks = nn.ModuleList(GBlock(NZ + EMB, w[i], w[i + 1]) for i in range(len(w) - 1))
        s.toImage = nn.Conv2d(w[-1], CH, 3, 1, 1)

    def forward(s, z, e):
        h = s.fc(z).view(z.size(0), 8 * NGF, 4, 4)
        c = torch.cat([z, e], 1)
        for b in s.blocks: h = b(h, c)
        return torch.tanh(s.toImage(lrelu(h)))


class DBlock(nn.Module):
    def __init__(s, cin, cout):
        super().__init__()
        s.r1, s.r2 = nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        s.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None
        s.gamma = nn.Parameter(torch.zeros(1))

    def forward(s, x):
        res = lrelu(s.r2(lrelu(s.r1(x))))
        return F.avg_pool2d(s.sc(x) if s.sc is not None else x, 2) + s.gamma * res


class NetD(nn.Module):
    """NetD and NetC in one module, as gantry's D holds both."""
    def __init__(s):
        super().__init__()
        w = [k * NDF for k in reversed(MULT)]
        s.fromImage = nn.Conv2d(CH, w[0], 3, 1, 1)
        s.blocks = nn.ModuleList(DBlock(w[i], w[i + 1]) for i in range(len(w) - 1))
        s.joint = nn.Conv2d(w[-1] + EMB, 2 * NDF, 3, 1, 1, bias=False)
        s.out = nn.Conv2d(2 * NDF, 1, 4, 1, 0, bias=False)

    def features(s, x):
        h = s.fromImage(x)
        for b in s.blocks: h = b(h)
        return h

    def score(s, h, e):
        return s.out(lrelu(s.joint(torch.cat([h, e[:, :, None, None].repeat(1, 1, 4, 4)], 1))))


def hinge(out, negative):
    return F.relu(1.0 + out).mean() if negative else F.relu(1.0 - out).mean()


def ma_gp(img, sent, out):
    gi, gs = torch.autograd.grad(out, (img, sent), torch.ones(out.size()), retain_graph=True, create_graph=True)
    norm = torch.sqrt(torch.cat([gi.view(gi.size(0), -1), gs.view(gs.size(0), -1)], 1).pow(2).sum(1))
    return 2.0 * norm.pow(6).mean()


def saved(G, D):
    """Both networks' tensors with a prefix each, fc's rows reordered from (c, h, w) to gantry's (h, w, c)."""
    name = lambda k: re.sub(r'^blocks\.(\d+)\.', r'block\1.', k)  # gantry's blocks are block0, block1, ...
    state = {f'G.{name(k)}': v.detach().clone() for k, v in G.state_dict().items()}
    state.update({f'D.{name(k)}': v.detach().clone() for k, v in D.state_dict().items()})
    order = torch.arange(8 * NGF * 16).view(8 * NGF, 4, 4).permute(1, 2, 0).reshape(-1)
    state['G.fc.weight'] = state['G.fc.weight'][order].clone()
    state['G.fc.bias'] = state['G.fc.bias'][order].clone()
    return state


def main():
    torch.manual_seed(31)
    G, D = NetG(), NetD()
    with torch.no_grad():
        D.out.weight.mul_(5.0)  # gradients of about 1 from the start, so MA-GP weighs in D's loss (about 1, not 1e-4)
    torch.save(saved(G, D), os.path.join(HERE, 'dfgan_step_init.pth'), _use_new_zipfile_serialization=False)
    oG = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    oD = torch.optim.Adam(D.parameters(), lr=4e-4, betas=(0.0, 0.9))
    g = torch.Generator().manual_seed(32)
    steps = []
    for _ in range(STEPS):
        levels, imgs = random_photos((N, CH, SIZE, SIZE), g)
        imgs = imgs.requires_grad_()
        sent = torch.randn(N, EMB, generator=g).requires_grad_()
        noise = torch.randn(N, NZ, generator=g)
        real_features = D.features(imgs)
        pred_real = D.score(real_features, sent)
        err_real = hinge(pred_real, False)
        err_mis = hinge(D.score(torch.cat([real_features[1:], real_features[:1]], 0), sent), True)
        fake = G(noise, sent)
        err_fake = hinge(D.score(D.features(fake.detach()), sent), True)
        err_gp = ma_gp(imgs, sent, pred_real)
        err_d = err_real + (err_fake + err_mis) / 2.0 + err_gp
        oD.zero_grad(); err_d.backward(); oD.step()
        err_g = -D.score(D.features(fake), sent).mean()
        oG.zero_grad(); err_g.backward(); oG.step()
        steps.append({'levels': levels_base64(levels), 'sentences': sent.detach().reshape(-1).tolist(), 'noise': noise.reshape(-1).tolist(),
                      'lossD': err_d.item(), 'lossG': err_g.item(), 'maGp': err_gp.item()})
    torch.save(saved(G, D), os.path.join(HERE, 'dfgan_step_final.pth'), _use_new_zipfile_serialization=False)
    config = {'imageSize': SIZE, 'channels': CH, 'nz': NZ, 'ngf': NGF, 'ndf': NDF, 'embedDim': EMB, 'noiseInFusion': True,
              'lrG': 1e-4, 'lrD': 4e-4, 'beta1': 0.0, 'beta2': 0.9}
    json.dump({'config': config, 'batch': N, 'steps': steps}, open(os.path.join(HERE, 'dfgan_step.json'), 'w'))
    print([{k: round(v, 5) for k, v in s.items() if isinstance(v, float)} for s in steps], 'torch', torch.__version__)


if __name__ == '__main__':
    main()
