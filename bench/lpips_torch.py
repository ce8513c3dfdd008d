#!/usr/bin/env python3
"""LPIPS on VGG-16 (torch-fidelity's lpips-vgg16, PPL's distance) speed in PyTorch, the reference for gantry's
(bench/inception-vs-torch.ts --net lpips). Builds torchvision's full-size VGG-16 features with seeded random
weights and seeded linear layers, saves them to --weights and --lin (so gantry loads the very same network),
then times the distances of --batch pairs of --size x --size images, resized to 64 as PPL does, with
test/golden/make_ppl.py's LPIPS. Prints one JSON line: pairs per second."""
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument('--weights', required=True); p.add_argument('--lin', required=True); p.add_argument('--batch', type=int, default=64)
p.add_argument('--batches', type=int, default=5); p.add_argument('--threads', type=int, default=2)
p.add_argument('--size', type=int, default=64); p.add_argument('--device', default='cpu')
a = p.parse_args()
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch, torchvision
torch.set_num_threads(a.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden'))
from make_ppl import Lpips
torch.manual_seed(0)
vgg = torchvision.models.vgg16()
lins = [torch.rand(1, c, 1, 1) * (2 / c) for c in (64, 128, 256, 512, 512)]
if not os.path.exists(a.weights) or not os.path.exists(a.lin):
    torch.save(vgg.state_dict(), a.weights)
    torch.save({f'lin{k}.model.1.weight': w for k, w in enumerate(lins)}, a.lin)
state = torch.load(a.weights)
lins = [torch.load(a.lin)[f'lin{k}.model.1.weight'] for k in range(5)]
dev = torch.device(a.device)
net = Lpips([w.to(dev) for w in lins], div=1).eval()
net.features.load_state_dict({k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')})
net = net.to(dev)
x0 = (torch.rand(a.batch, 3, a.size, a.size, device=dev) * 255).round()
x1 = (x0 + torch.randn(x0.shape, device=dev)).clamp(0, 255)
sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
with torch.no_grad():
    net(x0, x1); sync()
    ts = []
    for _ in range(a.batches):
        # The distances read back, as gantry's side reads them.
        t0 = time.perf_counter(); net(x0, x1).cpu(); sync(); ts.append(time.perf_counter() - t0)
ts.sort(); med = ts[len(ts) // 2]
print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'device': a.device, 'threads': torch.get_num_threads(), 'batch': a.batch,
                  'median_ms': round(med * 1000, 1), 'images_per_s': round(a.batch / med, 2)}))
