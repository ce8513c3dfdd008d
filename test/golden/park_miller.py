"""The Park-Miller features of the metric goldens (x <- 16807 x mod 2^31 - 1), which TypeScript reproduces
exactly (park-miller-features.ts), rounded to float32 as network features are."""
import numpy as np

def park_miller(seed, count):
    out = np.empty(count, dtype=np.float64); x = seed
    for i in range(count):
        x = (16807 * x) % 2147483647; out[i] = x / 2147483647
    return out

def features(seed, n, d, kind):
    u = park_miller(seed, n * d).reshape(n, d)
    if kind == 'a': f = u + 0.5 * np.roll(u, -1, axis=1)
    else: f = 1.2 * u + 0.2 * np.roll(u, -3, axis=1) + 0.05 * np.arange(d) / d
    return f.astype(np.float32)

def grid(seed, n, d):
    """Whole numbers 0, 1, 2 from the same generator: many distances tie exactly."""
    return np.floor(park_miller(seed, n * d).reshape(n, d) * 3).astype(np.float32)
