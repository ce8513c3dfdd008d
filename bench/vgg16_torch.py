#!/usr/bin/env python3
"""torch-fidelity's VGG-16 forward (fc2_relu) speed in PyTorch, the reference for gantry's
(bench/inception-vs-torch.ts --net vgg16). Builds torchvision's full-size vgg16 with seeded random weights,
saves them to --weights (so gantry loads the very same network), then times batches of --size images through
torch-fidelity's pipeline (TF1-style resize to 224, ImageNet normalisation, the network cut after fc2, ReLU)
as test/golden/make_vgg16.py writes it. Prints one JSON line: images per second.
With --lpips LIN, LPIPS on the network's features instead (PPL's distance, test/golden/make_ppl.py's LPIPS
at full width): seeded linear layers saved to LIN, pairs of --size images resized to 64; pairs per second."""
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument('--weights', required=True); p.add_argument('--batch', type=int, default=50)
p.add_argument('--batches', type=int, default=5); p.add_argument('--threads', type=int, default=2)
p.add_argument('--size', type=int, default=224); p.add_argument('--device', default='cpu'); p.add_argument('--lpips')
a = p.parse_args()
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch, torchvision
torch.set_num_threads(a.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden'))
from make_vgg16 import resize_like_tf1
from make_ppl import Lpips
torch.manual_seed(0)
net = torchvision.models.vgg16().eval()
lins = [torch.rand(1, c, 1, 1) * (2 / c) for c in (64, 128, 256, 512, 512)]
if not os.path.exists(a.weights):
    torch.save(net.state_dict(), a.weights)
else:
    net.load_state_dict(torch.load(a.weights))
if a.lpips and not os.path.exists(a.lpips):
    torch.save({f'lin{k}.model.1.weight': w for k, w in enumerate(lins)}, a.lpips)
dev = torch.device(a.device)
if a.lpips:
    lpips = Lpips([torch.load(a.lpips)[f'lin{k}.model.1.weight'].to(dev) for k in range(5)], div=1).eval()
    lpips.features.load_state_dict(net.features.state_dict())
    lpips = lpips.to(dev)
net = net.to(dev)
mean = (torch.tensor([0.485, 0.456, 0.406], device=dev) * 255).view(1, 3, 1, 1)
std = (torch.tensor([0.229, 0.224, 0.225], device=dev) * 255).view(1, 3, 1, 1)


def fc2_relu(x):
    x = (resize_like_tf1(x, 224) - mean) / std
    x = torch.flatten(net.avgpool(net.features(x)), 1)
    for i in range(4):
        x = net.classifier[i](x)
    return torch.relu(x)


x = (torch.rand(a.batch, 3, a.size, a.size, device=dev) * 255).round()
x1 = (x + torch.randn(x.shape, device=dev)).clamp(0, 255)
forward = (lambda: lpips(x, x1)) if a.lpips else (lambda: fc2_relu(x))
sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
with torch.no_grad():
    forward(); sync()
    ts = []
    for _ in range(a.batches):
        # The features (distances) read back, as gantry's side reads them.
        t0 = time.perf_counter(); forward().cpu(); sync(); ts.append(time.perf_counter() - t0)
ts.sort(); med = ts[len(ts) // 2]
print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'device': a.device, 'threads': torch.get_num_threads(), 'batch': a.batch,
                  'median_ms': round(med * 1000, 1), 'images_per_s': round(a.batch / med, 2)}))
