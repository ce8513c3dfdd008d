#!/usr/bin/env python3
"""Golden values for gantry's precision, recall, density and coverage:
    /usr/bin/python3 test/golden/make_precision_recall.py

Precision, recall and F-score as torch-fidelity's metric_prc computes them (Kynkaanniemi et al. 2019): each
point's radius is its distance to its k-th nearest neighbour in its own set (torch.cdist, kthvalue(k + 1), the
point itself the first), a fake point counts for precision when it lies within (<=) some real point's radius,
a real one for recall when within some fake point's. Density and coverage as clovaai's prdc computes them
(Naeem et al. 2020): strict (<) comparisons with the real radii. Distances here are float64, from the
float32 features, so the values are the exact ones a float32 computation approximates.

Features: make_metrics.py's Park-Miller generator (TypeScript reproduces it), and a grid of small integers
whose distances tie exactly, to pin down <= against <. Writes precision_recall.json.
"""
import json, os, sys
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from park_miller import features, grid

def torch_fidelity_prc(real, fake, k):
    r, f = torch.from_numpy(real.astype(np.float64)), torch.from_numpy(fake.astype(np.float64))
    radius_r = torch.cdist(r, r).kthvalue(k + 1).values
    radius_f = torch.cdist(f, f).kthvalue(k + 1).values
    d_fr = torch.cdist(f, r)
    precision = (d_fr <= radius_r).any(dim=1).double().mean().item()
    recall = (d_fr.T <= radius_f).any(dim=1).double().mean().item()
    return precision, recall, 2 * precision * recall / max(1e-5, precision + recall)

def pairwise(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))

def prdc_density_coverage(real, fake, k):
    radius = np.sort(pairwise(real, real), axis=1)[:, k]
    d_rf = pairwise(real, fake)
    density = (1.0 / k) * (d_rf < radius[:, None]).sum(axis=0).mean()
    coverage = (d_rf.min(axis=1) < radius).mean()
    return float(density), float(coverage)

def margin(real, fake, k):
    """The smallest relative gap between a real-fake distance and a radius: how near a comparison comes to a tie."""
    rr = np.sort(pairwise(real, real), axis=1)[:, k]
    rf = np.sort(pairwise(fake, fake), axis=1)[:, k]
    d = pairwise(fake, real)
    return float(min(np.abs(d - rr[None, :]).min() / rr.max(), np.abs(d - rf[:, None]).min() / rf.max()))

cases = []
for (name, real, fake, spec) in [
    ('park-miller 64-d, 700 real, 450 fake', features(12345, 700, 64, 'a'), features(777, 450, 64, 'b'),
     {'generator': 'park-miller', 'd': 64, 'nReal': 700, 'nFake': 450, 'seedReal': 12345, 'seedFake': 777}),
    ('park-miller 16-d, 50 real, 60 fake', features(1, 50, 16, 'a'), features(2, 60, 16, 'b'),
     {'generator': 'park-miller', 'd': 16, 'nReal': 50, 'nFake': 60, 'seedReal': 1, 'seedFake': 2}),
    ('integer grid 6-d, 40 real, 30 fake (exact ties)', grid(5, 40, 6), grid(6, 30, 6),
     {'generator': 'grid', 'd': 6, 'nReal': 40, 'nFake': 30, 'seedReal': 5, 'seedFake': 6}),
]:
    for k in (1, 3, 5):
        p, r, fs = torch_fidelity_prc(real, fake, k)
        density, coverage = prdc_density_coverage(real, fake, k)
        cases.append({'name': name, **spec, 'k': k, 'precision': p, 'recall': r, 'fScore': fs,
                      'density': density, 'coverage': coverage, 'margin': margin(real, fake, k)})

json.dump({'cases': cases}, open(os.path.join(HERE, 'precision_recall.json'), 'w'), indent=1)
for c in cases: print(c['name'], 'k', c['k'], {x: round(c[x], 6) for x in ('precision', 'recall', 'fScore', 'density', 'coverage', 'margin')})
