#!/usr/bin/env python3
"""bench/convs.ts's layers in PyTorch (bench/conv-layers.json): forward, input gradient and filter gradient
(aten::convolution_backward, as autograd calls it, one gradient at a time), median of 11 runs each.
Usage: convs_torch.py [--set vgg|dfgan] [--threads N]"""
import argparse, json, os, time
import torch, torch.nn.functional as F

p = argparse.ArgumentParser(); p.add_argument('--set', default='vgg'); p.add_argument('--threads', type=int, default=None)
a = p.parse_args()
if a.threads: torch.set_num_threads(a.threads)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conv-layers.json')) as f:
    layers = json.load(f)[a.set]

def median(fn):
    for _ in range(3): fn()
    ts = []
    for _ in range(11):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[5]

total = [0.0, 0.0, 0.0]
for n, h, w, cin, cout, k, s, pad in layers:
    x, f = torch.randn(n, cin, h, w), torch.randn(cout, cin, k, k)
    dy = torch.randn_like(F.conv2d(x, f, stride=s, padding=pad))
    grad = lambda mask: torch.ops.aten.convolution_backward(dy, x, f, None, [s, s], [pad, pad], [1, 1], False, [0, 0], 1, mask)
    times = [median(lambda: F.conv2d(x, f, stride=s, padding=pad)), median(lambda: grad([True, False, False])), median(lambda: grad([False, True, False]))]
    gflop = 2 * dy.numel() * cin * k * k / 1e9
    total = [t + u for t, u in zip(total, times)]
    cell = lambda t: f'{t:.2f} ms ({gflop / t * 1e3:.0f} GFLOP/s)'
    print(f'{n}x{h}x{w} {cin}->{cout} {k}x{k}/{s}: forward {cell(times[0])}, input gradient {cell(times[1])}, filter gradient {cell(times[2])}')
print(f'total: forward {total[0]:.1f} ms, input gradient {total[1]:.1f} ms, filter gradient {total[2]:.1f} ms')
