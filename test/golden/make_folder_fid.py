#!/usr/bin/env python3
"""Golden FID statistics of image folders at their own size, as pytorch-fid computes them:
    /usr/bin/python3 test/golden/make_folder_fid.py

pytorch-fid reads each PNG with PIL (convert('RGB')), turns it into a [0, 1] float tensor at its own
size (ToTensor) and lets the network resize it to 299 in float (bilinear, align_corners=False); images
of different sizes need batch size 1. Its statistics are the float64 mean and np.cov(rowvar=False) of
the features. This script does that with the seeded 1/8-width network of make_inception.py (weights
read from inception_w8.pth, which it wrote) on two folders it writes:
  folder48/     24 PNGs of 48x48 (one batch, as pytorch-fid with its default batch size)
  folder_mixed/ 6 PNGs of different sizes (one at a time, as pytorch-fid with --batch-size 1)
and saves their mu and sigma (pytorch-fid's .npz layout) for the 64-block features (8-d at this width)
of both and the 2048-block ones (256-d) of folder48: folder48_64.npz, folder48_2048.npz,
folder_mixed_64.npz.
"""
import os
import numpy as np
import torch
from PIL import Image
from make_inception import make

HERE = os.path.dirname(os.path.abspath(__file__))


def smooth_image(g, h, w):
    """Random but image-like: a coarse random grid upsampled, plus noise (uint8 HWC)."""
    coarse = torch.rand((3, 6, 6), generator=g)
    x = torch.nn.functional.interpolate(coarse[None], size=(h, w), mode='bilinear', align_corners=False)[0]
    x = (x * 200 + torch.rand((3, h, w), generator=g) * 55).clamp(0, 255).to(torch.uint8)
    return x.permute(1, 2, 0).numpy()


def write_folder(name, sizes, g):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(smooth_image(g, h, w)).save(os.path.join(folder, f'img{i:02d}.png'))
    return folder


def features(net, folder, batch):
    files = sorted(f for f in os.listdir(folder) if f.endswith(('.png', '.jpg')))
    tensors = [torch.from_numpy(np.asarray(Image.open(os.path.join(folder, f)).convert('RGB'), dtype=np.float32) / 255).permute(2, 0, 1) for f in files]
    out = {64: [], 2048: []}
    with torch.no_grad():
        for start in range(0, len(tensors), batch):
            f64, _, _, f2048, _ = net(torch.stack(tensors[start:start + batch]))
            out[64].append(f64.numpy())
            out[2048].append(f2048.numpy())
    return {k: np.concatenate(v).astype(np.float64) for k, v in out.items()}


def save_stats(path, f):
    np.savez(path, mu=np.mean(f, axis=0), sigma=np.cov(f, rowvar=False))


def main():
    net = make(8).eval()
    net.load_state_dict(torch.load(os.path.join(HERE, 'inception_w8.pth')))
    g = torch.Generator().manual_seed(21)
    square = write_folder('folder48', [(48, 48)] * 24, g)
    mixed = write_folder('folder_mixed', [(48, 48), (40, 56), (64, 32), (48, 48), (30, 30), (100, 80)], g)
    f = features(net, square, 50)
    save_stats(os.path.join(HERE, 'folder48_64.npz'), f[64])
    save_stats(os.path.join(HERE, 'folder48_2048.npz'), f[2048])
    save_stats(os.path.join(HERE, 'folder_mixed_64.npz'), features(net, mixed, 1)[64])
    print('wrote folder48/, folder_mixed/ and their statistics to', HERE, 'torch', torch.__version__)


if __name__ == '__main__':
    main()
