#!/usr/bin/env python3
"""Golden values for gantry's VGG-16 features (torch-fidelity's `vgg16` extractor, layer fc2_relu), by PyTorch:
    /usr/bin/python3 test/golden/make_vgg16.py

torch-fidelity's VGG-16 features: torchvision's vgg16 with its classifier cut after the second linear layer
(classifier[4:] deleted), fed 8-bit RGB as float 0..255, resized to 224x224 as TensorFlow 1.x resizes
bilinearly (source = destination x in/out, no half-pixel offset, the far neighbour clamped: torch-fidelity's
interpolate_bilinear_2d_like_tensorflow1x, method 'slow', written out again here), normalised by ImageNet's
mean and std times 255; fc2_relu is ReLU of the second linear layer's output. The network here is
torchvision's configuration "D" at 1/16 of its widths with classifier widths 64, seeded random weights and
torchvision's parameter names. Writes
  vgg16_w16.pth            the state dict (features.*, classifier.0/3/6.*: the last is never used)
  vgg16_golden.json        images (uint8 CHW bytes, base64) of several sizes, up- and downsized, grey ones as 3 equal channels, and each one's
                           fc2_relu; the fc2_relu of folder_mixed/'s PNGs (written by make_folder_fid.py), read
                           as torch-fidelity reads files (PIL, convert('RGB'))
  vgg16_full_names.json    the names and shapes of torchvision's full-size vgg16 state dict
"""
import base64, json, os
import numpy as np
import torch, torch.nn as nn
import torchvision
from PIL import Image
from torchvision.models.vgg import make_layers

HERE = os.path.dirname(os.path.abspath(__file__))
DIV = 16
HIDDEN = 64
cfg = [v if v == 'M' else v // DIV for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']]


class Vgg16(nn.Module):
    """torchvision's VGG layout (features, avgpool to 7x7, classifier) at reduced widths."""

    def __init__(s):
        super().__init__()
        s.features = make_layers(cfg)
        s.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        s.classifier = nn.Sequential(
            nn.Linear(512 // DIV * 7 * 7, HIDDEN), nn.ReLU(True), nn.Dropout(),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(True), nn.Dropout(),
            nn.Linear(HIDDEN, 10))

    def fc2_relu(s, x):
        x = torch.flatten(s.avgpool(s.features(x)), 1)
        for i in range(4):  # classifier[4:] is what torch-fidelity deletes
            x = s.classifier[i](x)
        return torch.relu(x)


def resize_like_tf1(x, size):
    """Bilinear resize of NCHW float x to size x size as TensorFlow 1.x's resize_bilinear (align_corners False)."""
    def axis(n_in):
        src = torch.arange(size, dtype=torch.float32, device=x.device) * torch.tensor(n_in / size, dtype=torch.float32, device=x.device)
        lo = src.long()
        hi = (lo + 1).clamp_max(n_in - 1)
        return lo, hi, src - lo.float()
    ylo, yhi, dy = axis(x.shape[2])
    xlo, xhi, dx = axis(x.shape[3])
    top = x[:, :, ylo, :]
    bottom = x[:, :, yhi, :]
    a, b = top[:, :, :, xlo], top[:, :, :, xhi]
    c, d = bottom[:, :, :, xlo], bottom[:, :, :, xhi]
    upper = a + (b - a) * dx.view(1, 1, 1, size)
    lower = c + (d - c) * dx.view(1, 1, 1, size)
    return upper + (lower - upper) * dy.view(1, 1, size, 1)


def features(net, uint8_nchw):
    x = resize_like_tf1(uint8_nchw.to(torch.float32), 224)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    return net.fc2_relu((x - mean) / std)


def main():
    torch.manual_seed(0)
    net = Vgg16().eval()
    for m in net.modules():
        # He-normal weights keep the activations near 1 through all 13 convolutions and the linear layers.
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.normal_(m.weight, 0, (2 / fan_in) ** 0.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
    torch.save(net.state_dict(), os.path.join(HERE, 'vgg16_w16.pth'))

    g = torch.Generator().manual_seed(1)
    images = []
    for c, h, w in [(3, 32, 32), (1, 28, 28), (3, 230, 260)]:
        img = (torch.rand((c, h, w), generator=g) * 256).floor().clamp(0, 255).to(torch.uint8)
        rgb = img.expand(3, h, w) if c == 1 else img
        with torch.no_grad():
            f = features(net, rgb[None])[0]
        images.append({'shape_chw': [c, h, w], 'data_base64': base64.b64encode(img.numpy().tobytes()).decode(), 'fc2_relu': f.tolist()})

    folder = os.path.join(HERE, 'folder_mixed')
    files = sorted(os.listdir(folder))
    folder_features = []
    for name in files:
        arr = np.asarray(Image.open(os.path.join(folder, name)).convert('RGB'))
        with torch.no_grad():
            folder_features.append(features(net, torch.from_numpy(arr.copy()).permute(2, 0, 1)[None])[0].tolist())

    with open(os.path.join(HERE, 'vgg16_golden.json'), 'w') as f:
        json.dump({'width_divisor': DIV, 'images': images, 'folder_mixed': {'files': files, 'fc2_relu': folder_features}}, f)

    full = torchvision.models.vgg16()
    with open(os.path.join(HERE, 'vgg16_full_names.json'), 'w') as f:
        json.dump([[k, list(v.shape)] for k, v in full.state_dict().items()], f)


if __name__ == '__main__':
    main()
