#!/usr/bin/env python3
"""Golden values for gantry's VGG19 features and pix2pixHD's perceptual loss, by PyTorch:
    /usr/bin/python3 test/golden/make_vgg19.py

torchvision's VGG19 (configuration "E": 16 convolutions, 3x3, padding 1, ReLU, 2x2 max pooling) at 1/8 of
its width, seeded random weights, its `features` Sequential numbered as torchvision numbers it, sliced as
pix2pixHD's Vgg19 does: features[0:2], [2:7], [7:12], [12:21], [21:30] (relu1_1 .. relu5_1). The loss is
pix2pixHD's VGGLoss: sum of weights 1/32, 1/16, 1/8, 1/4, 1 times the L1 distance of each slice's output,
the real side detached, inputs in [-1, 1] as they are. Writes
  vgg19_w8.pth        the state dict with torchvision's names (features.* and a small classifier.*)
  vgg19_golden.json   two image batches x, y [2, 3, 32, 48] (NCHW), the five features of x, the loss
                      VGGLoss(x, y) and its gradient with respect to x
"""
import json, os
import torch, torch.nn as nn
from torchvision.models.vgg import make_layers

HERE = os.path.dirname(os.path.abspath(__file__))
cfg = [v if v == 'M' else v // 8 for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']]


class Vgg(nn.Module):
    def __init__(s):
        super().__init__()
        s.features = make_layers(cfg)
        s.classifier = nn.Sequential(nn.Linear(64 * 7 * 7 // 8, 16))


def vgg_loss(f):
    """pix2pixHD's VGGLoss over the features f: its slices' L1 distances, weighted, the second input detached."""
    slices = [f[0:2], f[2:7], f[7:12], f[12:21], f[21:30]]
    weights = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]

    def feats(x):
        out = []
        for s in slices:
            x = s(x)
            out.append(x)
        return out

    def loss(x, y):
        fx, fy = feats(x), feats(y)
        return sum(w * nn.functional.l1_loss(a, b.detach()) for w, a, b in zip(weights, fx, fy)), fx
    return loss


def main():
    torch.manual_seed(0)
    net = Vgg()
    for m in net.features:
        if isinstance(m, nn.Conv2d):  # torchvision's own init (kaiming) gives features of wildly different scales; keep them near 1
            nn.init.normal_(m.weight, 0, (2 / (9 * m.in_channels)) ** 0.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
    x = (torch.rand(2, 3, 32, 48) * 2 - 1).requires_grad_(True)
    y = torch.rand(2, 3, 32, 48) * 2 - 1
    loss, fx = vgg_loss(net.features)(x, y)
    loss.backward()

    nhwc = lambda t: t.detach().permute(0, 2, 3, 1).contiguous()
    torch.save(net.state_dict(), os.path.join(HERE, 'vgg19_w8.pth'), _use_new_zipfile_serialization=False)
    with open(os.path.join(HERE, 'vgg19_golden.json'), 'w') as fh:
        json.dump({
            'x': nhwc(x).flatten().tolist(), 'y': nhwc(y).flatten().tolist(), 'shape': [2, 32, 48, 3],
            'features': [{'shape': list(nhwc(t).shape), 'data': nhwc(t).flatten().tolist()} for t in fx],
            'loss': loss.item(), 'grad': nhwc(x.grad).flatten().tolist(),
        }, fh)
    print('loss', loss.item(), [tuple(t.shape) for t in fx])


if __name__ == '__main__':
    main()
