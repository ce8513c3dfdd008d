#!/usr/bin/env python3
"""Golden values for gantry's LPIPS and perceptual path length (torch-fidelity's `lpips-vgg16` sample
similarity and its PPL), computed by PyTorch and NumPy:
    /usr/bin/python3 test/golden/make_ppl.py

Written again here from torch-fidelity's definitions (metric_ppl.py, sample_similarity_lpips.py, utils.py):
LPIPS takes images on the 0..255 scale, scales them as LPIPS does ((x - (1 + shift) * 255/2) * 2 / (scale * 255)),
resizes them to 64 (interpolate 'area' when both sides are larger, else 'bilinear', align_corners False), runs
VGG-16's features to relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3, divides each map by its norm over channels
(+ 1e-10), and sums over the five the spatial mean of the 1x1 linear layer on the squared differences. PPL draws
z0 = randn(n, d), z1 = randn(n, d) and classes randint(0, K, n) from RandomState(2020), moves z1 to
interp(z0, z1, eps), divides LPIPS of the two images by eps^2 and keeps what lies between the 'lower' and
'higher' percentiles before averaging.

The VGG-16 is vgg16_w16.pth (make_vgg16.py: 1/16 of torchvision's widths, seeded); the linear layers are
seeded here (non-negative, as LPIPS's are). Writes
  lpips_w16.pth      LPIPS's linear layers at those widths (lin0..lin4.model.1.weight)
  ppl_golden.json    image pairs (NCHW uint8 bytes, base64; one pair unquantised, float32 bytes) and their LPIPS; latents and classes
                     of a 5-pair draw and their interpolants in each mode; discards of a set of distances; and
                     the PPL of DCGAN's generator after make_dcgan_step.py's three steps (dcgan_step.json's
                     final G, its last layer x 10, batch norms' statistics of 512 draws, in evaluation mode; saved), on its unquantised images and
                     its 8-bit ones
"""
import base64, json, os
import numpy as np
import torch, torch.nn as nn
import torch.nn.functional as F
from torchvision.models.vgg import make_layers

HERE = os.path.dirname(os.path.abspath(__file__))
DIV = 16
TAPS = [3, 8, 15, 22, 29]  # relu1_2 .. relu5_3 in torchvision's vgg16().features


class Lpips(nn.Module):
    """LPIPS on torchvision's VGG-16 features at 1/div of its widths (div 1: the real one), lins its linear layers' weights."""
    def __init__(s, lins, div=DIV):
        super().__init__()
        s.features = make_layers([v if v == 'M' else v // div for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']])
        s.lins = lins

    def forward(s, in0, in1, resize=64):
        def prep(x):
            shift = torch.tensor([-.030, -.088, -.188])[None, :, None, None]
            scale = torch.tensor([.458, .448, .450])[None, :, None, None]
            x = (x.float() - (1 + shift) * 255 / 2) * (2 / (scale * 255))
            if resize is not None:
                if x.shape[-1] > resize and x.shape[-2] > resize:
                    x = F.interpolate(x, (resize, resize), mode='area')
                else:
                    x = F.interpolate(x, (resize, resize), mode='bilinear', align_corners=False)
            taps = []
            for i, layer in enumerate(s.features[:TAPS[-1] + 1]):
                x = layer(x)
                if i in TAPS:
                    taps.append(x)
            return taps
        total = 0
        for k, (f0, f1) in enumerate(zip(prep(in0), prep(in1))):
            f0 = f0 / (torch.sqrt(torch.sum(f0 ** 2, dim=1, keepdim=True)) + 1e-10)
            f1 = f1 / (torch.sqrt(torch.sum(f1 ** 2, dim=1, keepdim=True)) + 1e-10)
            total = total + F.conv2d((f0 - f1) ** 2, s.lins[k]).mean([2, 3]).squeeze(1)
        return total


def normalize_last(v, eps=1e-7):
    return v / (v ** 2).sum(dim=-1, keepdim=True).sqrt().clamp_min(eps)


def interp(a, b, t, method, eps=1e-7):
    if method == 'lerp':
        return a + (b - a) * t
    a1, b1 = normalize_last(a, eps), normalize_last(b, eps)
    d = (a1 * b1).sum(dim=-1, keepdim=True)
    use_lerp = ((a1.norm(dim=-1, keepdim=True) < eps) | (b1.norm(dim=-1, keepdim=True) < eps) | (d > 1 - eps) | (d < -1 + eps)).repeat(1, a.shape[-1])
    omega = d.acos()
    denom = omega.sin().clamp_min(eps)
    out = ((1 - t) * omega).sin() / denom * a + (t * omega).sin() / denom * b
    out[use_lerp] = (a + (b - a) * t)[use_lerp]
    return normalize_last(out, eps) if method == 'slerp_unit' else out


def discard(distances, lo, hi):
    cond = np.ones(distances.shape, bool)
    if lo is not None:
        cond &= np.percentile(distances, lo, method='lower') <= distances
    if hi is not None:
        cond &= distances <= np.percentile(distances, hi, method='higher')
    kept = np.extract(cond, distances)
    return float(np.mean(kept)), float(np.std(kept)), int(kept.size)


def b64(t):
    return base64.b64encode(t.numpy().tobytes()).decode()


def dcgan_generator():
    """make_dcgan_step.py's G (nz 8, ngf 4, 1 channel, 32x32) with dcgan_step.json's weights after its steps."""
    nz, ngf, ch = 8, 4, 1
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, ch, 4, 2, 1, bias=False), nn.Tanh())
    with open(os.path.join(HERE, 'dcgan_step.json')) as f:
        final = json.load(f)['final']['G']
    G.load_state_dict({k: torch.tensor(v['data']).reshape(v['shape']) for k, v in final.items()}, strict=False)
    # Three steps from N(0, 0.02) leave running statistics near 1 and images nearly flat: the statistics are
    # set to those of 512 draws, and the last layer's weights x 10, so that the images vary with z.
    with torch.no_grad():
        G[9].weight.mul_(10)
        for m in G:
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        G.train()(torch.from_numpy(np.random.RandomState(5).randn(512, nz, 1, 1)).float())
    return G.eval(), nz


def ppl(lpips, G, nz, n, eps, method, dtype, lo, hi, batch=7):
    rng = np.random.RandomState(2020)
    z0 = torch.from_numpy(rng.randn(n, nz)).float()
    z1 = interp(z0, torch.from_numpy(rng.randn(n, nz)).float(), eps, method)
    out = []
    with torch.no_grad():
        for s in range(0, n, batch):
            e = s + batch
            imgs = G(torch.cat((z0[s:e], z1[s:e]))[:, :, None, None]).repeat(1, 3, 1, 1)  # grey to RGB
            imgs = (imgs + 1) * 127.5
            if dtype == 'uint8':
                # The levels gantry saves a PNG with: rounded half up (torch.round rounds half to even).
                imgs = imgs.clamp(0, 255)
                whole = imgs.floor()
                imgs = (whole + (imgs - whole >= 0.5).float()).to(torch.uint8)
            a, b = imgs.chunk(2)
            out.append((lpips(a, b) / eps ** 2).numpy())
    distances = np.concatenate(out)
    mean, std, kept = discard(distances, lo, hi)
    return {'n': n, 'epsilon': eps, 'interp': method, 'dtype': dtype, 'discard': [lo, hi], 'mean': mean, 'std': std, 'kept': kept,
            'distances': distances.tolist()}


def main():
    torch.manual_seed(0)
    vgg = torch.load(os.path.join(HERE, 'vgg16_w16.pth'))
    chans = [64 // DIV, 128 // DIV, 256 // DIV, 512 // DIV, 512 // DIV]
    lins = [torch.rand(1, c, 1, 1) * (2 / c) for c in chans]
    torch.save({f'lin{k}.model.1.weight': w for k, w in enumerate(lins)}, os.path.join(HERE, 'lpips_w16.pth'))
    lpips = Lpips(lins).eval()
    lpips.features.load_state_dict({k[len('features.'):]: v for k, v in vgg.items() if k.startswith('features.')})

    g = torch.Generator().manual_seed(1)
    pairs = []
    for n, c, h, w in [(2, 3, 64, 64), (1, 1, 28, 28), (1, 3, 72, 72), (1, 3, 128, 128), (1, 3, 48, 96), (1, 3, 40, 40)]:
        a = (torch.rand((n, c, h, w), generator=g) * 256).floor().clamp(0, 255)
        b = (a + torch.randint(-24, 25, a.shape, generator=g)).clamp(0, 255)
        a, b = a.to(torch.uint8), b.to(torch.uint8)
        with torch.no_grad():
            d = lpips(a.expand(n, 3, h, w), b.expand(n, 3, h, w))
        pairs.append({'shape_nchw': [n, c, h, w], 'a': b64(a), 'b': b64(b), 'lpips': d.tolist()})
    a = torch.rand((1, 3, 64, 64), generator=g) * 255
    b = a + torch.randn(a.shape, generator=g) * 0.5
    with torch.no_grad():
        d = lpips(a, b)
    floats = {'shape_nchw': [1, 3, 64, 64], 'a_f32': b64(a), 'b_f32': b64(b), 'lpips': d.tolist()}
    with torch.no_grad():
        unresized = lpips(a[:, :, :32, :48], b[:, :, :32, :48], resize=None)
    floats_unresized = {'lpips': unresized.tolist()}

    rng = np.random.RandomState(2020)
    z0 = torch.from_numpy(rng.randn(5, 6)).float()
    z1 = torch.from_numpy(rng.randn(5, 6)).float()
    classes = rng.randint(0, 3, (5,))
    ends = z1.clone()
    ends[4] = z0[4] * 2  # collinear ends: slerp falls back to lerp
    latents = {'n': 5, 'dim': 6, 'classes_k': 3, 'z0': z0.reshape(-1).tolist(), 'z1': z1.reshape(-1).tolist(), 'classes': classes.tolist(),
               'ends': ends.reshape(-1).tolist(),
               'interp': {m: {str(t): interp(z0, ends, t, m).reshape(-1).tolist() for t in (1e-4, 0.3)} for m in ('lerp', 'slerp_any', 'slerp_unit')}}

    distances = np.random.RandomState(7).lognormal(0, 1, 97).astype(np.float32)
    discards = [{'lo': lo, 'hi': hi, **dict(zip(('mean', 'std', 'kept'), discard(distances, lo, hi)))} for lo, hi in [(1, 99), (5, 95), (None, 90), (10, None), (None, None)]]

    G, nz = dcgan_generator()
    state = {k: {'shape': list(v.shape), 'data': v.reshape(-1).tolist()} for k, v in G.state_dict().items() if not k.endswith('num_batches_tracked')}
    runs = [ppl(lpips, G, nz, 30, 1e-4, 'lerp', 'float32', 5, 95), ppl(lpips, G, nz, 30, 1e-4, 'slerp_any', 'float32', 1, 99),
            ppl(lpips, G, nz, 30, 0.2, 'lerp', 'uint8', 5, 95)]

    with open(os.path.join(HERE, 'ppl_golden.json'), 'w') as f:
        json.dump({'width_divisor': DIV, 'pairs': pairs, 'floats': floats, 'floats_unresized': floats_unresized, 'latents': latents,
                   'discard': {'distances': distances.tolist(), 'cases': discards}, 'dcgan': {'G': state, 'nz': nz, 'runs': runs}}, f)


if __name__ == '__main__':
    main()
