"""How the training-step peers (bench/*_torch.py) time their step (or, with --generate, their generator) and
report it, one way for all: `warmup` untimed steps, then `steps` timed ones, each ending when its loss is read
and the device is idle; one JSON line with the median, min and max milliseconds, images per second and the
peer's own fields (its parameter counts, which gantry's bench prints too) and the peak resident memory."""
import argparse, json, resource, time
import torch


def count(*modules):
    """Parameters of the modules (or of lists of parameters)."""
    return sum(p.numel() for m in modules for p in (m.parameters() if hasattr(m, 'parameters') else m))


# On a GPU, warm-up calls go on for at least this long, as gantry's bench warms up (GPU_WARM_MS in
# src/bench/dcgan-step.ts): the clocks rise under load over a fraction of a second.
GPU_WARM_SECONDS = 1.0


def _timed(run, device, warmup, steps):
    """Milliseconds of `steps` calls of run() after `warmup` untimed ones (on a GPU, and more until
    GPU_WARM_SECONDS have passed), each until the device is idle, sorted."""
    def sync():
        if device.type == 'cuda': torch.cuda.synchronize()
    started = time.perf_counter(); done = 0
    while done < warmup or (device.type == 'cuda' and time.perf_counter() - started < GPU_WARM_SECONDS):
        run(); done += 1
        if done >= warmup: sync()
    sync(); ts = []
    for _ in range(steps):
        t0 = time.perf_counter(); run(); sync(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)


def _report(ts, device, batch, workload, fields):
    med = ts[len(ts) // 2]
    print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'device': str(device), 'threads': torch.get_num_threads(),
                      'workload': workload, **fields,
                      'median_ms': round(med, 3), 'min_ms': round(ts[0], 3), 'max_ms': round(ts[-1], 3),
                      'images_per_s': round(batch / med * 1000, 2),
                      # The process's largest resident size so far (Linux: KiB), as gantry's bench reports it.
                      'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def report_step(step, device, warmup, steps, batch, workload, **fields):
    """step() runs one training step and returns a loss tensor (read each step); prints the JSON line."""
    _report(_timed(lambda: step().item(), device, warmup, steps), device, batch, workload, fields)


def report_generate(draw, device, warmup, steps, batch, workload, **fields):
    """draw() makes one batch of images, the networks in evaluation mode; timed without gradients, as
    `gantry bench --family NAME --generate` times gantry's generator; prints the JSON line."""
    with torch.no_grad(): ts = _timed(draw, device, warmup, steps)
    _report(ts, device, batch, f'{workload} generate', fields)


def peer_parser(channels, batch):
    """The options every training-step peer takes (--device, --size 32 or 64, --channels, --batch, --steps,
    --warmup, --threads), with the peer's defaults; each peer adds its own."""
    p = argparse.ArgumentParser()
    p.add_argument('--device', default='cpu'); p.add_argument('--size', type=int, default=32)
    p.add_argument('--channels', type=int, default=channels); p.add_argument('--batch', type=int, default=batch)
    p.add_argument('--steps', type=int, default=10); p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--generate', action='store_true', help='time generator inference (evaluation mode, no gradients) at --batch instead of the training step')
    return p


def start(parser):
    """Parses the options, applies --threads and seeds torch with 0; returns the options and the device."""
    a = parser.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a, torch.device(a.device)
