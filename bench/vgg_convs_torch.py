#!/usr/bin/env python3
"""bench/vgg-convs.ts's layers in PyTorch: VGG19's 3x3 convolutions up to relu5_1 at 64x128, forward and
input gradient, median of 15 runs each. Usage: vgg_convs_torch.py [--threads N]"""
import argparse, time
import torch, torch.nn.functional as F

p = argparse.ArgumentParser(); p.add_argument('--threads', type=int, default=None)
a = p.parse_args()
if a.threads: torch.set_num_threads(a.threads)
LAYERS = [[64, 128, 3, 64], [64, 128, 64, 64], [32, 64, 64, 128], [32, 64, 128, 128], [16, 32, 128, 256], [16, 32, 256, 256], [8, 16, 256, 512], [8, 16, 512, 512], [4, 8, 512, 512]]

def median(fn):
    for _ in range(3): fn()
    ts = []
    for _ in range(15):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[7]

forward = backward = 0.0
for h, w, cin, cout in LAYERS:
    x, f, dy = torch.randn(1, cin, h, w), torch.randn(cout, cin, 3, 3), torch.randn(1, cout, h, w)
    fw = median(lambda: F.conv2d(x, f, padding=1))
    dx = median(lambda: torch.nn.grad.conv2d_input(x.shape, f, dy, padding=1))
    g = 2 * h * w * cin * cout * 9 / 1e9
    forward += fw; backward += dx
    print(f'{h}x{w} {cin}->{cout}: forward {fw:.2f} ms ({g / fw * 1e3:.0f} GFLOP/s), input gradient {dx:.2f} ms ({g / dx * 1e3:.0f} GFLOP/s)')
print(f'total: forward {forward:.1f} ms, input gradient {backward:.1f} ms')
