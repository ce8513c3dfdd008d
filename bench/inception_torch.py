#!/usr/bin/env python3
"""pytorch-fid's Inception-v3 forward speed in PyTorch, the reference for gantry's (bench/inception-vs-torch.ts).
Builds the full-size network of test/golden/make_inception.py with seeded random weights, saves them
to --weights (so gantry loads the very same network), then times batches of 299x299 images.
Prints one JSON line: images per second."""
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument('--weights', required=True); p.add_argument('--batch', type=int, default=50)
p.add_argument('--batches', type=int, default=5); p.add_argument('--threads', type=int, default=2)
p.add_argument('--device', default='cpu')
a = p.parse_args()
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch
torch.set_num_threads(a.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden'))
from make_inception import make
torch.manual_seed(0)
net = make(1).eval()
if not os.path.exists(a.weights):
    torch.save(net.state_dict(), a.weights)
else:
    net.load_state_dict(torch.load(a.weights))
dev = torch.device(a.device)
net = net.to(dev)
x = torch.rand(a.batch, 3, 299, 299, device=dev)
sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
with torch.no_grad():
    net(x); sync()
    ts = []
    for _ in range(a.batches):
        # The features read back, as gantry's side reads them.
        t0 = time.perf_counter(); net(x)[3].cpu(); sync(); ts.append(time.perf_counter() - t0)
ts.sort(); med = ts[len(ts) // 2]
print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'device': a.device, 'threads': torch.get_num_threads(), 'batch': a.batch,
                  'median_ms': round(med * 1000, 1), 'images_per_s': round(a.batch / med, 2)}))
