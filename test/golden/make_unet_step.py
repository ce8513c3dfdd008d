#!/usr/bin/env python3
"""Golden values for gantry's U-Net VAE-GAN training step, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_unet_step.py  ->  test/golden/{unet,unet_noise}_step.json, and their
                                                       _init.pth / _final.pth

The VAE of make_vae_step.py with skips: each encoder stage's output (after batch norm and LeakyReLU) is
concatenated, channels after the decoder's, to the input of the decoder stage at the same scale; squared-error
images. 3 steps of batch 16 at 32x32 RGB (latent 8, width 4, ndf 4), written here in plain torch:
  D first: BCE of real images against Dec(z_p, skips'), the skips of an encoder pass over the batch multiplied
  by (1 + 0.5 eps_d) (skipMode "modulate"), or replaced by eps_d ("noise", unet_noise); Adam 2e-4, (0.5, 0.999).
  Then the auto-encoder: 1 * (the squared error of Dec(z, skips'') + beta KL) + 0.1 * -log D(Dec(z_p, skips''))
  through the updated D, skips'' the skips of a new encoder pass multiplied by (1 + 0.5 eps_g), z = mu + sigma
  eps; Adam 1e-3, (0.9, 0.999). unet_noise also warms beta up from 0 over 2 steps.
The noise (eps, z_p, then eps_d and eps_g of each skip level) is given; the skips' noise, which gantry's step
reads from the file whatever its distribution, is drawn as 8-bit levels k, eps = (k - 128) / 40, stored as the
photos are: levels (NHWC) as base64. Saved with gantry's parameter names, prefixed UNet. and D.
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan_nets import dcgan_init, discriminator_main  # noqa: E402
from golden_photos import levels_base64, random_photos, save_networks  # noqa: E402
from make_vae_step import bce_d, kl_beta, kl_divergence, reconstruction  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, CH, LATENT, WIDTH, NDF, N, STEPS, ALPHA = 32, 3, 8, 4, 4, 16, 3, 0.5
STAGES = 3  # 32 -> 16 -> 8 -> 4


class UNet(nn.Module):
    def __init__(s):
        super().__init__()
        s.enc, s.dec = nn.Module(), nn.Module()
        c, w, skips = CH, WIDTH, []
        for i in range(STAGES):
            setattr(s.enc, f'conv{i}', nn.Conv2d(c, w, 4, 2, 1, bias=False))
            setattr(s.enc, f'bn{i}', nn.BatchNorm2d(w))
            skips.append(w)
            c, w = w, w * 2
        s.top = c
        s.enc.head = nn.Linear(16 * c, 2 * LATENT)
        s.dec.fc = nn.Linear(LATENT, 16 * c)
        d = c
        for i in range(STAGES):
            last = i == STAGES - 1
            out = CH if last else d // 2
            setattr(s.dec, f'deconv{i}', nn.ConvTranspose2d(d + skips[STAGES - 1 - i], out, 4, 2, 1, bias=last))
            if not last: setattr(s.dec, f'bn{i}', nn.BatchNorm2d(out))
            d = out

    def encode(s, x):
        h, skips = x, []
        for i in range(STAGES):
            h = F.leaky_relu(getattr(s.enc, f'bn{i}')(getattr(s.enc, f'conv{i}')(h)), 0.2)
            skips.append(h)
        mu, log_var = s.enc.head(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1)).chunk(2, 1)
        return mu, log_var, skips

    def decode_raw(s, z, skips):
        h = F.relu(s.dec.fc(z)).view(z.shape[0], 4, 4, s.top).permute(0, 3, 1, 2)
        for i in range(STAGES):
            h = getattr(s.dec, f'deconv{i}')(torch.cat([h, skips[STAGES - 1 - i]], 1))
            if i < STAGES - 1: h = F.relu(getattr(s.dec, f'bn{i}')(h))
        return h


class Discriminator(nn.Module):
    def __init__(s):
        super().__init__()
        s.main = discriminator_main(CH, NDF)

    def forward(s, x):
        return s.main(x).view(-1)


def skip_noise(shape, generator):
    """Levels of one skip's noise, uniform over 0..255, and the noise they make."""
    levels = torch.randint(0, 256, shape, generator=generator)
    return levels, (levels.float() - 128) / 40


def run(name, config, seed):
    torch.manual_seed(seed)
    unet, d = UNet(), Discriminator()
    dcgan_init(unet); dcgan_init(d)
    save_networks(os.path.join(HERE, f'{name}_init.pth'), UNet=unet, D=d)
    opt_u = torch.optim.Adam(unet.parameters(), lr=1e-3, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    noise_mode = config.get('skipMode') == 'noise'
    g = torch.Generator().manual_seed(seed + 1)
    steps = []
    for i in range(STEPS):
        levels, x = random_photos((N, CH, SIZE, SIZE), g)
        eps, zp = torch.randn(N, LATENT, generator=g), torch.randn(N, LATENT, generator=g)
        beta = kl_beta(config, i)
        with torch.no_grad():
            skips = unet.encode(x)[2]
            levels_d, eps_d = zip(*[skip_noise(s.shape, g) for s in skips])
            perturbed = [e if noise_mode else s * (1 + ALPHA * e) for s, e in zip(skips, eps_d)]
            fake = unet.decode_raw(zp, perturbed).tanh()
        loss_d = bce_d(d(x), d(fake))
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        mu, log_var, skips = unet.encode(x)
        levels_g, eps_g = zip(*[skip_noise(s.shape, g) for s in skips])
        perturbed = [s * (1 + ALPHA * e) for s, e in zip(skips, eps_g)]
        z = mu + (0.5 * log_var).exp() * eps
        recon, kl = reconstruction(unet.decode_raw(z, perturbed), x, 'mse'), kl_divergence(mu, log_var)
        adv = F.softplus(-d(unet.decode_raw(zp, perturbed).tanh())).mean()
        loss = 1.0 * (recon + beta * kl) + 0.1 * adv
        opt_u.zero_grad(); loss.backward(); opt_u.step()
        steps.append({'levels': levels_base64(levels), 'noise': [eps.reshape(-1).tolist(), zp.reshape(-1).tolist()],
                      'skipNoise': {'d': [levels_base64(k) for k in levels_d], 'g': [levels_base64(k) for k in levels_g]},
                      'lossD': loss_d.item(), 'lossTotal': loss.item(), 'lossRecon': recon.item(), 'lossKL': kl.item(), 'lossG': adv.item()})
    save_networks(os.path.join(HERE, f'{name}_final.pth'), UNet=unet, D=d)
    section = {'imageSize': SIZE, 'channels': CH, 'latent': LATENT, 'width': WIDTH, 'ndf': NDF, **config}
    json.dump({'config': section, 'batch': N, 'steps': steps}, open(os.path.join(HERE, f'{name}.json'), 'w'))
    print(name, [{k: round(v, 4) for k, v in s.items() if isinstance(v, float)} for s in steps])


def main():
    run('unet_step', {}, 71)
    run('unet_noise_step', {'skipMode': 'noise', 'klWarmup': 2}, 72)
    print('torch', torch.__version__)


if __name__ == '__main__':
    main()
