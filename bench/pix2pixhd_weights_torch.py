#!/usr/bin/env python3
"""NVIDIA-sized pix2pixHD and VGG19 weight files for gantry's memory measurements, and PyTorch's own draw
of the generator as the peer (docs/performance.md, "PyTorch's files").

  pix2pixhd_weights_torch.py make DIR         writes DIR/G.pth (label2city_1024p's sizes: G1 at ngf 64 with
                                              9 blocks, G2 at ngf 32, 36 input channels, random weights) and
                                              DIR/vgg19.pth (torchvision's VGG19, random weights), both in the
                                              legacy format of NVIDIA's and torchvision's published files
  pix2pixhd_weights_torch.py translate G.pth  loads G.pth and draws one 512x1024 map under torch.no_grad on
                                              2 threads; prints the forward's seconds and the process's peak MB

The networks are test/golden/make_pix2pixhd.py's (the official code's modules, as the golden tests use).
"""
import os, resource, sys, time
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden'))
import make_pix2pixhd as official  # noqa: E402


def generator():
    return official.LocalEnhancer(36, 3, 32, 4, 9)


def make(out):
    import torchvision
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.save(generator().state_dict(), os.path.join(out, 'G.pth'), _use_new_zipfile_serialization=False)
    torch.save(torchvision.models.vgg19().state_dict(), os.path.join(out, 'vgg19.pth'), _use_new_zipfile_serialization=False)


def translate(path):
    torch.set_num_threads(2)
    g = generator()
    g.load_state_dict(torch.load(path))
    g.eval()
    x = torch.zeros(1, 36, 512, 1024)
    x[:, 3] = 1
    started = time.time()
    with torch.no_grad():
        g(x)
    print(f'forward {time.time() - started:.2f} s, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB')


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] not in ('make', 'translate'):
        sys.exit(__doc__)
    (make if sys.argv[1] == 'make' else translate)(sys.argv[2])
