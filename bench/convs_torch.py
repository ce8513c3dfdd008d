#!/usr/bin/env python3
"""bench/convs.ts's layers in PyTorch (bench/conv-layers.json): forward, input gradient and filter gradient
(aten::convolution_backward, as autograd calls it, one gradient at a time), median of 11 runs each; on CUDA
each run is 5 calls and a synchronize, divided by 5, as bench/convs.ts times WebGPU.
Usage: convs_torch.py [--set NAME] [--threads N] [--device cpu|cuda] [--no-tf32] [--forward] [--json]
(--no-tf32: float32 convolutions on CUDA, not TF32's tensor cores; --json: one JSON line last)"""
import argparse, json, os, time
import torch, torch.nn.functional as F

p = argparse.ArgumentParser(); p.add_argument('--set', default='vgg'); p.add_argument('--threads', type=int, default=None)
p.add_argument('--device', default='cpu'); p.add_argument('--no-tf32', action='store_true'); p.add_argument('--forward', action='store_true'); p.add_argument('--json', action='store_true')
a = p.parse_args()
if a.threads: torch.set_num_threads(a.threads)
cuda = a.device == 'cuda'
if cuda:
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = not a.no_tf32
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conv-layers.json')) as f:
    layers = json.load(f)[a.set]

def median(fn):
    reps = 5 if cuda else 1
    def run():
        for _ in range(reps): fn()
        if cuda: torch.cuda.synchronize()
    for _ in range(3): run()
    ts = []
    for _ in range(11):
        t0 = time.perf_counter(); run(); ts.append((time.perf_counter() - t0) * 1000 / reps)
    return sorted(ts)[5]

names = ['forward', 'input gradient', 'filter gradient']
total = [0.0, 0.0, 0.0]
rows = []
for layer in layers:
    n, h, w, cin, cout, k, s, pad = layer
    kh, kw = (k, k) if isinstance(k, int) else k
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    x, f = torch.randn(n, cin, h, w, device=a.device), torch.randn(cout, cin, kh, kw, device=a.device)
    dy = torch.randn_like(F.conv2d(x, f, stride=s, padding=(ph, pw)))
    grad = lambda mask: torch.ops.aten.convolution_backward(dy, x, f, None, [s, s], [ph, pw], [1, 1], False, [0, 0], 1, mask)
    times = [median(lambda: F.conv2d(x, f, stride=s, padding=(ph, pw)))]
    if not a.forward: times += [median(lambda: grad([True, False, False])), median(lambda: grad([False, True, False]))]
    gflop = 2 * dy.numel() * cin * kh * kw / 1e9
    total = [t + u for t, u in zip(total, times)]
    rows.append({'layer': layer, 'gflop': gflop, 'ms': times})
    cell = lambda t, i: f'{names[i]} {t:.2f} ms ({gflop / t * 1e3:.0f} GFLOP/s)'
    print(f'{n}x{h}x{w} {cin}->{cout} {kh}x{kw}/{s}: ' + ', '.join(cell(t, i) for i, t in enumerate(times)))
print('total: ' + ', '.join(f'{names[i]} {t:.1f} ms' for i, t in enumerate(total[:len(times)])))
if a.json: print(json.dumps({'set': a.set, 'device': a.device, 'tf32': cuda and not a.no_tf32, 'layers': rows}))
