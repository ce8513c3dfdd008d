"""How the training-step peers (bench/*_torch.py) time their step and report it, one way for all: `warmup`
untimed steps, then `steps` timed ones, each ending when its loss is read and the device is idle; one JSON
line with the median, min and max milliseconds, images per second and the peer's own fields (its parameter
counts, which gantry's bench prints too)."""
import json, time
import torch


def count(*modules):
    """Parameters of the modules (or of lists of parameters)."""
    return sum(p.numel() for m in modules for p in (m.parameters() if hasattr(m, 'parameters') else m))


def report_step(step, device, warmup, steps, batch, workload, **fields):
    """step() runs one training step and returns a loss tensor; prints the JSON line."""
    def sync():
        if device.type == 'cuda': torch.cuda.synchronize()
    for _ in range(warmup): step()
    sync(); ts = []
    for _ in range(steps):
        t0 = time.perf_counter(); step().item(); sync(); ts.append((time.perf_counter() - t0) * 1000)
    ts.sort(); med = ts[len(ts) // 2]
    print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'device': str(device), 'threads': torch.get_num_threads(),
                      'workload': workload, **fields,
                      'median_ms': round(med, 3), 'min_ms': round(ts[0], 3), 'max_ms': round(ts[-1], 3),
                      'images_per_s': round(batch / med * 1000, 2)}))
