"""Golden values for gantry's DiffAugment (src/nn/diff-augment.ts): Zhao et al.'s three policies written as
in their DiffAugment_pytorch.py, with the random draws given instead of drawn, on a small NCHW batch, and
the gradient of a weighted sum of the chained output with respect to the input.
Run: /usr/bin/python3 test/golden/make_diff_augment.py  (writes diff_augment.json beside it)."""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
N, C, H, W = 3, 3, 8, 6
x0 = torch.randn(N, C, H, W, dtype=torch.float64)
# The draws each policy makes, as torch.rand / torch.randint would: U(0, 1) per image for brightness,
# saturation and contrast; shifts in [-1, 1] (int(8 / 8 + 0.5) = int(6 / 8 + 0.5) = 1); cutout centres in
# [0, 9) for H (side 4, even) and [0, 6) for W (side 3, odd).
u_brightness = [0.1, 0.75, 0.5]
u_saturation = [0.3, 0.9, 0.05]
u_contrast = [0.6, 0.2, 0.95]
shift_h = [-1, 0, 1]
shift_w = [1, -1, 0]
centre_h = [0, 8, 4]
centre_w = [5, 0, 2]


def per_image(values):
    return torch.tensor(values, dtype=torch.float64).view(N, 1, 1, 1)


def color(x):
    x = x + (per_image(u_brightness) - 0.5)
    m = x.mean(dim=1, keepdim=True)
    x = (x - m) * (per_image(u_saturation) * 2) + m
    m = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - m) * (per_image(u_contrast) + 0.5) + m


def translation(x):
    tx = torch.tensor(shift_h).view(N, 1, 1)
    ty = torch.tensor(shift_w).view(N, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(N), torch.arange(H), torch.arange(W), indexing='ij')
    gx = torch.clamp(gx + tx + 1, 0, H + 1)
    gy = torch.clamp(gy + ty + 1, 0, W + 1)
    pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return pad.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def cutout(x):
    size = int(H * 0.5 + 0.5), int(W * 0.5 + 0.5)
    ox = torch.tensor(centre_h).view(N, 1, 1)
    oy = torch.tensor(centre_w).view(N, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(N), torch.arange(size[0]), torch.arange(size[1]), indexing='ij')
    gx = torch.clamp(gx + ox - size[0] // 2, min=0, max=H - 1)
    gy = torch.clamp(gy + oy - size[1] // 2, min=0, max=W - 1)
    mask = torch.ones(N, H, W, dtype=x.dtype)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).reshape(-1).tolist()


x = x0.clone().requires_grad_(True)
chained = cutout(translation(color(x)))
weights = torch.randn(N, C, H, W, dtype=torch.float64)
(chained * weights).sum().backward()
out = {
    'shape_nhwc': [N, H, W, C],
    'x': nhwc(x0),
    'draws': {'brightness': u_brightness, 'saturation': u_saturation, 'contrast': u_contrast,
              'shift_h': shift_h, 'shift_w': shift_w, 'centre_h': centre_h, 'centre_w': centre_w},
    'color': nhwc(color(x0)),
    'translation': nhwc(translation(x0)),
    'cutout': nhwc(cutout(x0)),
    'chained': nhwc(chained),
    'weights': nhwc(weights),
    'grad': nhwc(x.grad),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'diff_augment.json'), 'w') as f:
    json.dump(out, f)
