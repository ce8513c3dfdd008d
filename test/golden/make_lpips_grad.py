#!/usr/bin/env python3
"""Golden gradients of gantry's LPIPS (torch-fidelity's `lpips-vgg16`, as make_ppl.py writes it again) with
respect to its first image, computed by PyTorch's autograd, for `gantry project --lpips`, which moves latent
vectors down that gradient:
    /usr/bin/python3 test/golden/make_lpips_grad.py

The network is make_ppl.py's (vgg16_w16.pth and lpips_w16.pth). Cases: a 32x32 colour pair upsampled to 64
(bilinear), a 28x28 grey pair (repeated to three channels, so its gradient is the sum over them), a 66x66
pair reduced to 64 (area, uneven cells), a 32x40 pair as it is. Images are float, on the 0..255 scale. Writes
lpips_grad_golden.json: each case's shape (NCHW), resize, images and gradient (float32 bytes, base64) and
distances.
"""
import json, os
import torch
from make_ppl import HERE, Lpips, b64


def main():
    vgg = torch.load(os.path.join(HERE, 'vgg16_w16.pth'))
    lins = [w for _, w in sorted(torch.load(os.path.join(HERE, 'lpips_w16.pth')).items())]
    lpips = Lpips(lins).eval()
    lpips.features.load_state_dict({k[len('features.'):]: v for k, v in vgg.items() if k.startswith('features.')})
    g = torch.Generator().manual_seed(3)
    cases = []
    for n, c, h, w, resize in [(1, 3, 32, 32, 64), (1, 1, 28, 28, 64), (1, 3, 66, 66, 64), (1, 3, 32, 40, None)]:
        a = torch.rand((n, c, h, w), generator=g) * 255
        b = (a + torch.randn(a.shape, generator=g) * 40).clamp(0, 255)
        a.requires_grad_(True)
        d = lpips(a.expand(n, 3, h, w), b.expand(n, 3, h, w), resize=resize)
        d.sum().backward()
        cases.append({'shape_nchw': [n, c, h, w], 'resize': resize, 'a': b64(a.detach()), 'b': b64(b), 'lpips': d.tolist(), 'grad': b64(a.grad)})
    with open(os.path.join(HERE, 'lpips_grad_golden.json'), 'w') as f:
        json.dump({'cases': cases}, f)


if __name__ == '__main__':
    main()
