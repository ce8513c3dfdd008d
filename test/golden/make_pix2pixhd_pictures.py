#!/usr/bin/env python3
"""Golden values for a pix2pixHD generator trained on pictures as inputs (NVIDIA's --label_nc 0, input_nc 3),
computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_pix2pixhd_pictures.py

NVIDIA's GlobalGenerator (make_pix2pixhd.py's, with the official parameter names) reading 3 channels: ngf 4,
two down-samplings, two residual blocks, weights N(0, 0.02) as its weights_init, seeded. Its input is a
picture as the official aligned dataset gives it with --label_nc 0 (ToTensor, then Normalize(0.5, 0.5):
level / 127.5 - 1). Writes
  pix2pixhd_G_pictures.pth          the generator (legacy torch.save format)
  pix2pixhd_pictures_golden.json    two 16 x 24 RGB pictures (8-bit levels, NHWC) and G's images of them
                                    (NHWC, in [-1, 1])
"""
import json, os
import torch
from make_pix2pixhd import GlobalGenerator, weights_init

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(11)
    G = GlobalGenerator(3, 3, 4, 2, 2)
    G.apply(weights_init)
    torch.save(G.state_dict(), os.path.join(HERE, 'pix2pixhd_G_pictures.pth'), _use_new_zipfile_serialization=False)
    g = torch.Generator().manual_seed(12)
    n, h, w = 2, 16, 24
    levels = torch.randint(0, 256, (n, h, w, 3), generator=g, dtype=torch.uint8)
    x = (levels.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    with torch.no_grad():
        fake = G.eval()(x)
    golden = {
        'size': [n, h, w],
        'pictures': levels.flatten().tolist(),
        'fake': {'shape': [n, h, w, 3], 'data': fake.permute(0, 2, 3, 1).flatten().tolist()},
    }
    json.dump(golden, open(os.path.join(HERE, 'pix2pixhd_pictures_golden.json'), 'w'))


if __name__ == '__main__':
    main()
