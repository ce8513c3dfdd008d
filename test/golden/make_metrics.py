#!/usr/bin/env python3
"""Golden values for gantry's FID, KID and IS, computed with NumPy / SciPy (Debian's python3-scipy):
    /usr/bin/python3 test/golden/make_metrics.py

Features come from a Park-Miller generator (x <- 16807 x mod 2^31-1) that TypeScript reproduces
exactly, rounded to float32 as network features are. FID is pytorch-fid's calculate_frechet_distance
(scipy.linalg.sqrtm of sigma1 . sigma2); KID is torch-fidelity's unbiased MMD^2 with the cubic
polynomial kernel on one subset holding all samples, and on subsets drawn as torch-fidelity draws them
(np.random.RandomState(2020).choice(n, m, replace=False) in turn for real and fake); IS is torch-fidelity's
formula, without shuffling and with its shuffle (RandomState(2020).permutation). NumPy's permutations
themselves are kept too, for gantry's RandomState. Writes metrics_golden.json and two pytorch-fid-style statistics files, stats_a.npz and stats_b.npz.
"""
import json, os, sys
import numpy as np
from scipy import linalg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from park_miller import features

def stats(f):
    return np.mean(f, axis=0), np.cov(f, rowvar=False)

def frechet(mu1, s1, mu2, s2, eps=1e-6):  # as pytorch-fid's calculate_frechet_distance
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean): covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

def mmd2_unbiased(x, y):
    d = x.shape[1]; m = x.shape[0]
    kxx = (x @ x.T / d + 1) ** 3; kyy = (y @ y.T / d + 1) ** 3; kxy = (x @ y.T / d + 1) ** 3
    return float(((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))

def inception_score(logits, splits):
    logits = logits.astype(np.float64)
    logp = logits - logits.max(1, keepdims=True); logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    p = np.exp(logp); n = len(logits); scores = []
    for i in range(splits):
        a, b = i * n // splits, (i + 1) * n // splits
        q = p[a:b].mean(0, keepdims=True)
        scores.append(np.exp((p[a:b] * (logp[a:b] - np.log(q))).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))

out = {'fid': []}
for (d, n) in [(64, 500), (64, 40), (2048, 10000)]:
    fa, fb = features(12345, n, d, 'a'), features(777, n, d, 'b')
    (ma, sa), (mb, sb) = stats(fa), stats(fb)
    out['fid'].append({'d': d, 'n': n, 'seedA': 12345, 'seedB': 777, 'fid': frechet(ma, sa, mb, sb)})
    if d == 64 and n == 500:
        np.savez(os.path.join(HERE, 'stats_a.npz'), mu=ma, sigma=sa)
        np.savez_compressed(os.path.join(HERE, 'stats_b.npz'), mu=mb, sigma=sb)
fa, fb = features(1, 50, 16, 'a'), features(2, 50, 16, 'b')
out['kid'] = {'d': 16, 'n': 50, 'seedA': 1, 'seedB': 2, 'mmd2': mmd2_unbiased(fa.astype(np.float64), fb.astype(np.float64))}
logits = (features(3, 200, 10, 'a') * 4).astype(np.float32)
m, s = inception_score(logits, 10)
out['is'] = {'n': 200, 'classes': 10, 'seed': 3, 'scale': 4, 'mean': m, 'std': s}
out['is_shuffled'] = dict(out['is'], **dict(zip(('mean', 'std'), inception_score(logits[np.random.RandomState(2020).permutation(200)], 10))))

rng = np.random.RandomState(2020)  # as torch-fidelity's kid_features_to_metric
fa, fb = features(1, 50, 16, 'a').astype(np.float64), features(2, 60, 16, 'b').astype(np.float64)
mmds = [mmd2_unbiased(fa[rng.choice(50, 20, replace=False)], fb[rng.choice(60, 20, replace=False)]) for _ in range(4)]
out['kid_subsets'] = {'d': 16, 'nA': 50, 'nB': 60, 'seedA': 1, 'seedB': 2, 'subsets': 4, 'subsetSize': 20, 'mean': float(np.mean(mmds)), 'std': float(np.std(mmds))}

r = np.random.RandomState(2020)
big = np.random.RandomState(2020).permutation(100000)
out['permutations'] = {'seed2020': [r.permutation(10).tolist(), r.permutation(7).tolist()], 'seed0': np.random.RandomState(0).permutation(12).tolist(),
                       'seed2020_100000': {'first': big[:8].tolist(), 'last': big[-8:].tolist()}}
json.dump(out, open(os.path.join(HERE, 'metrics_golden.json'), 'w'), indent=1)
print(json.dumps(out))
