#!/usr/bin/env python3
"""JPEGs and how PIL decodes them, for gantry's JPEG decoding (src/io/jpeg.ts):
    /usr/bin/python3 test/golden/make_jpeg.py

PIL decodes JPEGs with libjpeg(-turbo) at its defaults (the "islow" IDCT, the triangle filter for
subsampled chroma, its fixed-point YCbCr to RGB), and torchvision and pytorch-fid read images through
PIL's convert('RGB'). This writes, in jpeg/, each case as NAME.jpg (written by PIL) and what PIL reads
from it as NAME.png (lossless RGB):
  smooth420      23 wide, 37 high, 4:2:0 (odd sizes: the chroma's last column and row cover one pixel)
  noise420       40x40, 4:2:0, random pixels (chroma upsampling at its most visible)
  smooth422      23x37, 4:2:2
  smooth444      16x24, 4:4:4 (no upsampling: the IDCT and the colour conversion alone)
  progressive420 23x37, 4:2:0, progressive
  grey           20x12, one component
  adobe-rgb      smooth444 with its JFIF marker swapped for an Adobe one of transform 0: its three
                 components are then read as R, G and B, with no colour conversion (libjpeg's rule)
and folder48/, 24 JPEGs of 48x48 (4:2:0, quality 85: photos as cameras and the web keep them), with
their FID statistics as pytorch-fid computes them (make_folder_fid.py's way, its 1/8-width network):
folder48_2048.npz.
"""
import os
import numpy as np
import torch
from PIL import Image
from make_folder_fid import features, save_stats, smooth_image
from make_inception import make

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'jpeg')


def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w]
    rgb = [128 + 100 * np.sin(x / 3.0), 128 + 100 * np.cos(y / 4.0), 128 + 60 * np.sin((x + y) / 5.0)]
    return np.stack(rgb, -1).astype(np.uint8)


def main():
    os.makedirs(HERE, exist_ok=True)
    rs = np.random.RandomState(0)
    cases = {
        'smooth420': (smooth(37, 23), dict(quality=85, subsampling=2)),
        'noise420': ((rs.rand(40, 40, 3) * 255).astype(np.uint8), dict(quality=90, subsampling=2)),
        'smooth422': (smooth(37, 23), dict(quality=85, subsampling=1)),
        'smooth444': (smooth(24, 16), dict(quality=85, subsampling=0)),
        'progressive420': (smooth(37, 23), dict(quality=85, subsampling=2, progressive=True)),
        'grey': ((rs.rand(12, 20) * 255).astype(np.uint8), dict(quality=85)),
    }
    for name, (pixels, options) in cases.items():
        path = os.path.join(HERE, f'{name}.jpg')
        Image.fromarray(pixels).save(path, **options)
        Image.open(path).convert('RGB').save(os.path.join(HERE, f'{name}.png'))
        print(name, Image.open(path).size)
    # adobe-rgb: APP0 (JFIF) out, APP14 "Adobe" (version 100, no flags, transform 0) in.
    data = open(os.path.join(HERE, 'smooth444.jpg'), 'rb').read()
    assert data[2:4] == b'\xff\xe0'
    app0_end = 4 + int.from_bytes(data[4:6], 'big')
    adobe = b'\xff\xee' + (14).to_bytes(2, 'big') + b'Adobe' + (100).to_bytes(2, 'big') + bytes(5)
    path = os.path.join(HERE, 'adobe-rgb.jpg')
    open(path, 'wb').write(data[:2] + adobe + data[app0_end:])
    Image.open(path).convert('RGB').save(os.path.join(HERE, 'adobe-rgb.png'))
    print('adobe-rgb', Image.open(path).mode)
    folder = os.path.join(HERE, 'folder48')
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(22)
    for i in range(24):
        Image.fromarray(smooth_image(g, 48, 48)).save(os.path.join(folder, f'img{i:02d}.jpg'), quality=85, subsampling=2)
    net = make(8).eval()
    net.load_state_dict(torch.load(os.path.join(os.path.dirname(HERE), 'inception_w8.pth')))
    save_stats(os.path.join(HERE, 'folder48_2048.npz'), features(net, folder, 50)[2048])


if __name__ == '__main__':
    main()
