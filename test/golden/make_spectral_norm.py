#!/usr/bin/env python3
"""Golden values for gantry's spectral normalisation (src/nn/spectral-norm.ts), from PyTorch's own
torch.nn.utils.spectral_norm (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_spectral_norm.py

For a convolution weight and a linear one: the weight and its u buffer as spectral_norm draws them; then
two training-mode passes, each computing the normalised weight (one power iteration, u moved) and the
gradient of sum(C * normalised weight) for a fixed C with respect to the weight (weight_orig). Also the
largest singular value (numpy's SVD), which 60 more passes' estimate must reach. Tensors are written in
PyTorch's layout; the test permutes them to gantry's. Writes spectral_norm.json.
"""
import json, os
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(7)
torch.set_default_dtype(torch.float64)  # float64 here: the test compares float32 against the exact values

def case(name, module):
    sn = torch.nn.utils.spectral_norm(module)
    w = sn.weight_orig.detach().clone()
    u0 = sn.weight_u.detach().clone()
    c = torch.randn_like(w)
    passes = []
    for _ in range(2):
        sn.weight_orig.grad = None
        sn.train()
        x = torch.zeros((1, module.in_channels, 4, 4)) if isinstance(module, torch.nn.Conv2d) else torch.zeros((1, module.in_features))
        sn(x)  # the forward pre-hook computes sn.weight: one power iteration, u moved
        (c * sn.weight).sum().backward()
        passes.append({'normalized': sn.weight.detach().flatten().tolist(), 'u': sn.weight_u.detach().tolist(), 'grad': sn.weight_orig.grad.flatten().tolist()})
    mat = w.reshape(w.shape[0], -1).numpy()
    return {'name': name, 'shape': list(w.shape), 'weight': w.flatten().tolist(), 'u0': u0.tolist(), 'c': c.flatten().tolist(),
            'passes': passes, 'sigmaMax': float(np.linalg.svd(mat, compute_uv=False)[0])}

cases = [case('conv 3->6, 4x4', torch.nn.Conv2d(3, 6, 4, bias=False)), case('linear 10->5', torch.nn.Linear(10, 5, bias=False))]
json.dump({'cases': cases}, open(os.path.join(HERE, 'spectral_norm.json'), 'w'))
for c in cases: print(c['name'], 'sigma', c['sigmaMax'], 'u after 2 passes', np.round(c['passes'][1]['u'], 4))
