#!/usr/bin/env python3
"""Golden values for gantry's DCGAN training step, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_dcgan_step.py  ->  test/golden/dcgan_step.json
    /usr/bin/python3 test/golden/make_dcgan_step.py --spectral-norm  ->  test/golden/dcgan_sn_step.json
    /usr/bin/python3 test/golden/make_dcgan_step.py --r1  ->  test/golden/dcgan_r1_step.json
    /usr/bin/python3 test/golden/make_dcgan_step.py --r1 --lazy  ->  test/golden/dcgan_lazy_r1_step.json
    /usr/bin/python3 test/golden/make_dcgan_step.py --wgan-gp  ->  test/golden/dcgan_wgan_gp_step.json
    /usr/bin/python3 test/golden/make_dcgan_step.py --wgan-gp --layer-norm  ->  test/golden/dcgan_wgan_gp_ln_step.json

A small dcgan32 (nz 8, ngf = ndf = 4, 1 channel, batch 4) with seeded weights takes three training
steps exactly as ../shared/peers/dcgan_torch.py (and pytorch/examples/dcgan) does: D on real and
detached fake, then G through the updated D, reusing the one generator forward; BCE-with-logits;
Adam 2e-4 / (0.5, 0.999). Saved: the initial weights (PyTorch layouts), every step's real batch
and noise, every step's losses, and all weights and batch-norm running statistics after the steps.
With --spectral-norm, D's convolutions take biases (PyTorch's default init) and are wrapped in
torch.nn.utils.spectral_norm, and its batch norms are identities (kept in place so that the layers keep their
indices); weight_orig is saved as weight, with
weight_u beside it (weight_v is recomputed from u at every pass, so it is not state).
With --r1, D's loss adds R1 as StyleGAN2 computes it, gamma/2 * mean ||d(sum of real logits)/d real||^2
(gamma 10), its gradient back-propagated through D's batch norms twice.
With --lazy as well, R1 is StyleGAN2's lazy regularization every 2 steps instead: on steps 0 and 2, after D's
update from its BCE loss, an update of D's own on the penalty x 2 (StyleGAN2-ADA's Dreg phase); D's Adam takes
lr x c and betas ** c, c = 2/3, for both kinds of update.
With --wgan-gp, WGAN-GP as Gulrajani et al.'s code trains it: D a critic without batch norm (its convolutions take
biases, PyTorch's default init; the batch norms are identities, kept in place as above), its loss
mean D(fake) - mean D(real) + 10 * mean (||dD(x_hat)/dx_hat||_2 - 1)^2 at x_hat = eps * real + (1 - eps) * fake,
eps ~ U(0, 1) per image (saved with each step), G's loss -mean D(fake); Adam 1e-4 / (0, 0.9), the paper's. D's
initial weights are 5 times DCGAN's, so that the gradients at the interpolates have norms near 1 (saved: 'norms').
With --layer-norm as well, the critic's batch norms are layer norms as Gulrajani et al.'s tflib takes them: each
image over its C x H x W values (biased variance, eps 1e-5), then a scale and shift per channel (starting at
N(1, 0.2) and N(0, 0.2) here rather than 1 and 0, so that the step moves them from values of their own).
"""
import json, os, sys
import torch, torch.nn as nn

spectral = '--spectral-norm' in sys.argv
r1 = 10.0 if '--r1' in sys.argv else 0.0
r1_every = 2 if '--lazy' in sys.argv else 1
wgan = '--wgan-gp' in sys.argv
layer_norm = '--layer-norm' in sys.argv


class LayerNorm(nn.Module):
    """tflib's Layernorm over [1, 2, 3] of NCHW maps: per-image statistics, per-channel scale and shift."""
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        mean = x.mean((1, 2, 3), keepdim=True)
        var = x.var((1, 2, 3), unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * self.weight[:, None, None] + self.bias[:, None, None]

torch.manual_seed(1234)
nz, ngf, ndf, ch, B, steps = 8, 4, 4, 1, 4, 3

G = nn.Sequential(
    nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
    nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
    nn.ConvTranspose2d(ngf, ch, 4, 2, 1, bias=False), nn.Tanh())
D = nn.Sequential(
    nn.Conv2d(ch, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
    nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
    nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False), nn.Flatten())
for m in list(G.modules()) + list(D.modules()):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)): nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d): nn.init.normal_(m.weight, 1.0, 0.02); nn.init.zeros_(m.bias)
if spectral or wgan:
    for i, m in enumerate(D):
        if isinstance(m, nn.Conv2d):
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=True)
            with torch.no_grad(): conv.weight.copy_(m.weight)
            D[i] = nn.utils.spectral_norm(conv) if spectral else conv
        elif isinstance(m, nn.BatchNorm2d): D[i] = LayerNorm(m.num_features) if layer_norm else nn.Identity()
if wgan:  # D's weights x 5: gradients at the interpolates of norm near 1, where the penalty tells them apart
    with torch.no_grad():
        for m in D:
            if isinstance(m, nn.Conv2d): m.weight.mul_(5)
            if isinstance(m, LayerNorm): nn.init.normal_(m.weight, 1.0, 0.2); nn.init.normal_(m.bias, 0.0, 0.2)

def state(net):
    return {k.replace('weight_orig', 'weight'): {'shape': list(v.shape), 'data': v.detach().reshape(-1).tolist()} for k, v in net.state_dict().items()
            if not k.endswith('num_batches_tracked') and not k.endswith('weight_v')}

lr, beta1, beta2 = (1e-4, 0.0, 0.9) if wgan else (2e-4, 0.5, 0.999)
out = {'config': {'nz': nz, 'ngf': ngf, 'ndf': ndf, 'channels': ch, 'batch': B, 'imageSize': 32, 'r1': r1, 'r1Every': r1_every,
                  **({'loss': 'wgan-gp', 'gp': 10.0, 'lr': lr, 'beta1': beta1, 'beta2': beta2} if wgan else {}),
                  **({'dNorm': 'layer'} if layer_norm else {})},
       'initial': {'G': state(G), 'D': state(D)}, 'steps': []}
oG = torch.optim.Adam(G.parameters(), lr, betas=(beta1, beta2))
c = r1_every / (r1_every + 1) if r1_every > 1 else 1
oD = torch.optim.Adam(D.parameters(), lr * c, betas=(beta1 ** c, beta2 ** c))
bce = nn.BCEWithLogitsLoss()
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
for s in range(steps):
    real = torch.rand(B, ch, 32, 32) * 2 - 1
    z = torch.randn(B, nz, 1, 1)
    fake = G(z)
    oD.zero_grad()
    every_step = r1 > 0 and r1_every == 1
    real.requires_grad_(every_step)
    realLogits = D(real)
    extra = {}
    if wgan:
        eps = torch.rand(B, 1, 1, 1)
        lossD = D(fake.detach()).mean() - realLogits.mean()
        mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        grad, = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
        gp = 10.0 * (grad.reshape(B, -1).norm(2, dim=1) - 1).square().mean()
        lossD = lossD + gp
        extra = {'eps': eps.reshape(-1).tolist(), 'gp': gp.item(), 'norms': grad.reshape(B, -1).norm(2, dim=1).tolist()}
    else:
        lossD = bce(realLogits, ones) + bce(D(fake.detach()), zeros)
    if every_step:
        grad, = torch.autograd.grad(realLogits.sum(), real, create_graph=True)
        lossD = lossD + grad.square().sum((1, 2, 3)).mean() * (r1 / 2)
    lossD.backward(); oD.step()
    penalty = None
    if r1 > 0 and r1_every > 1 and s % r1_every == 0:
        oD.zero_grad()
        x = real.detach().requires_grad_(True)
        logits = D(x)
        grad, = torch.autograd.grad(logits.sum(), x, create_graph=True)
        penalty = grad.square().sum((1, 2, 3)).mean() * (r1 / 2)
        (logits * 0 + penalty * r1_every).mean().backward(); oD.step()
    oG.zero_grad()
    lossG = -D(fake).mean() if wgan else bce(D(fake), ones)
    lossG.backward(); oG.step()
    out['steps'].append({'real_nchw': real.reshape(-1).tolist(), 'z': z.reshape(-1).tolist(), **extra,
                         'lossD': lossD.item(), 'lossG': lossG.item(), **({'r1': penalty.item()} if penalty is not None else {})})
out['final'] = {'G': state(G), 'D': state(D)}
name = ('dcgan_wgan_gp_ln_step.json' if layer_norm else 'dcgan_wgan_gp_step.json') if wgan else 'dcgan_sn_step.json' if spectral else 'dcgan_lazy_r1_step.json' if r1_every > 1 else 'dcgan_r1_step.json' if r1 else 'dcgan_step.json'
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
with open(path, 'w') as f: json.dump(out, f)
print('wrote', path, 'torch', torch.__version__)
