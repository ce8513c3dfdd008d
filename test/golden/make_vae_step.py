#!/usr/bin/env python3
"""Golden values for gantry's auto-encoder training steps, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_vae_step.py  ->  test/golden/{vae,vae_gan,vae_gan_larsen}_step.json,
                                                        and their _init.pth / _final.pth

Three runs of 3 steps, batch 16 at 32x32 RGB (latent 8, width 4, ndf 4), written here in plain torch:
  vae: the encoder (4x4/2 convolutions, batch norm, LeakyReLU 0.2, a linear head to (mu, log sigma^2)) and
    the decoder (linear + ReLU to 4x4, 4x4/2 transposed convolutions, batch norm, ReLU); z = mu + sigma eps;
    loss = the squared error of tanh(decoder) summed over pixels + beta KL, each averaged over the batch, beta
    warmed up from 0 over 2 steps (0, 0.5, 1); Adam 1e-3, betas (0.9, 0.999).
  vae_gan: the same with a Bernoulli reconstruction (BCE of the logits against (x + 1) / 2, images
    2 sigmoid - 1) and DCGAN's discriminator. D first: BCE of real images against decoded prior samples (Adam
    2e-4, betas (0.5, 0.999)); then the auto-encoder: 1 * (reconstruction + KL) + 0.1 * -log D(Dec(z_p))
    through the updated D.
  vae_gan_larsen: Larsen et al. 2016's VAE/GAN (Algorithm 1), squared-error images: L_llike = 0.5 * the
    squared error of D's second block's features of x~ = Dec(z) and x (one pass of D on both), summed and
    averaged over the batch. Encoder: KL + L_llike; decoder: 1 * L_llike - log D(x~) - log D(x_p), x_p =
    Dec(z_p), with x~ and x_p decoded in one pass; D: BCE of x real, x~ and x_p fake. Every gradient is taken
    before any network moves.
gantry holds NHWC maps: the encoder's 4x4 map is flattened as height, width, channel, and the decoder's
linear output is read so too (the permutes below). Every network in training mode (batch statistics). The
noise (eps, then z_p) is given; the photos' 8-bit levels (NHWC) as base64. Saved with gantry's parameter
names, prefixed VAE. and D.
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan_nets import dcgan_init, discriminator_main  # noqa: E402
from golden_photos import levels_base64, random_photos, save_networks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, CH, LATENT, WIDTH, NDF, N, STEPS = 32, 3, 8, 4, 4, 16, 3
STAGES = 3  # 32 -> 16 -> 8 -> 4


class Encoder(nn.Module):
    def __init__(s):
        super().__init__()
        c, w = CH, WIDTH
        for i in range(STAGES):
            setattr(s, f'conv{i}', nn.Conv2d(c, w, 4, 2, 1, bias=False))
            setattr(s, f'bn{i}', nn.BatchNorm2d(w))
            c, w = w, w * 2
        s.head = nn.Linear(16 * c, 2 * LATENT)

    def forward(s, x):
        h = x
        for i in range(STAGES): h = F.leaky_relu(getattr(s, f'bn{i}')(getattr(s, f'conv{i}')(h)), 0.2)
        return s.head(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1)).chunk(2, 1)


class Decoder(nn.Module):
    def __init__(s):
        super().__init__()
        s.top = WIDTH * 2 ** (STAGES - 1)
        s.fc = nn.Linear(LATENT, 16 * s.top)
        c = s.top
        for i in range(STAGES):
            last = i == STAGES - 1
            out = CH if last else c // 2
            setattr(s, f'deconv{i}', nn.ConvTranspose2d(c, out, 4, 2, 1, bias=last))
            if not last: setattr(s, f'bn{i}', nn.BatchNorm2d(out))
            c = out

    def forward(s, z):
        h = F.relu(s.fc(z)).view(z.shape[0], 4, 4, s.top).permute(0, 3, 1, 2)
        for i in range(STAGES):
            h = getattr(s, f'deconv{i}')(h)
            if i < STAGES - 1: h = F.relu(getattr(s, f'bn{i}')(h))
        return h


class Discriminator(nn.Module):
    def __init__(s):
        super().__init__()
        s.main = discriminator_main(CH, NDF)

    def features(s, x, blocks):
        """The output of D's first `blocks` blocks (a convolution, batch norm but in the first, LeakyReLU)."""
        return s.main[:[2, 5, 8][blocks - 1]](x)

    def forward(s, x):
        return s.main(x).view(-1)


class AutoEncoder(nn.Module):
    def __init__(s):
        super().__init__()
        s.enc, s.dec = Encoder(), Decoder()


def kl_beta(config, step):
    """The KL term's weight at a step: 1, warmed up linearly from 0 over config's klWarmup steps."""
    warmup = config.get('klWarmup', 0)
    return min(1.0, step / warmup) if warmup else 1.0


def kl_divergence(mu, log_var):
    return (-0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(1)).mean()


def reconstruction(raw, x, mode):
    if mode == 'mse': return ((raw.tanh() - x) ** 2).sum((1, 2, 3)).mean()
    return (F.softplus(raw) - (x + 1) / 2 * raw).sum((1, 2, 3)).mean()


def to_image(raw, mode):
    return raw.tanh() if mode == 'mse' else raw.sigmoid() * 2 - 1


def bce_d(real, fake):
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def pixels_step(vae, d, opt_vae, opt_d, x, eps, zp, beta, mode):
    """vae (d None) or vae-gan with similarity "pixels": the losses, after both updates."""
    out = {}
    if d is not None:
        fake = to_image(vae.dec(zp), mode).detach()
        loss_d = bce_d(d(x), d(fake))
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        out['lossD'] = loss_d.item()
    mu, log_var = vae.enc(x)
    z = mu + (0.5 * log_var).exp() * eps
    recon, kl = reconstruction(vae.dec(z), x, mode), kl_divergence(mu, log_var)
    loss = recon + beta * kl
    if d is not None:
        adv = F.softplus(-d(to_image(vae.dec(zp), mode))).mean()
        loss = 1.0 * loss + 0.1 * adv
        out['lossG'] = adv.item()
    opt_vae.zero_grad(); loss.backward(); opt_vae.step()
    out.update(lossTotal=loss.item(), lossRecon=recon.item(), lossKL=kl.item())
    return out


def larsen_step(vae, d, opt_vae, opt_d, x, eps, zp, beta, layer, gamma=1.0):
    def feature_error(recon):
        fr, fx = d.features(torch.cat([recon, x]), layer).chunk(2)
        return 0.5 * ((fr - fx) ** 2).sum((1, 2, 3)).mean()
    enc_params, dec_params = list(vae.enc.parameters()), list(vae.dec.parameters())
    mu, log_var = vae.enc(x)
    z = mu + (0.5 * log_var).exp() * eps
    raw = vae.dec(z)
    kl, feats = kl_divergence(mu, log_var), feature_error(raw.tanh())
    recon = reconstruction(raw, x, 'mse')
    g_enc = torch.autograd.grad(beta * kl + feats, enc_params)
    fakes = vae.dec(torch.cat([z.detach(), zp])).tanh()
    tilde, prior = fakes.chunk(2)
    loss_g = F.softplus(-d(tilde)).mean() + F.softplus(-d(prior)).mean()
    g_dec = torch.autograd.grad(gamma * feature_error(tilde) + loss_g, dec_params)
    loss_d = bce_d(d(x), d(tilde.detach())) + F.softplus(d(prior.detach())).mean()
    g_d = torch.autograd.grad(loss_d, list(d.parameters()))
    for p, g in zip(enc_params + dec_params + list(d.parameters()), g_enc + g_dec + g_d): p.grad = g
    opt_vae.step(); opt_d.step()
    return {'lossKL': kl.item(), 'lossFeatures': feats.item(), 'lossRecon': recon.item(), 'lossG': loss_g.item(), 'lossD': loss_d.item()}


def run(name, config, seed):
    torch.manual_seed(seed)
    vae = AutoEncoder(); dcgan_init(vae)
    d = None
    if config['family'] != 'vae':
        d = Discriminator(); dcgan_init(d)
    save_networks(os.path.join(HERE, f'{name}_init.pth'), VAE=vae, D=d)
    opt_vae = torch.optim.Adam(vae.parameters(), lr=1e-3, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999)) if d is not None else None
    mode = config.get('reconstruction', 'mse')
    g = torch.Generator().manual_seed(seed + 1)
    steps = []
    for i in range(STEPS):
        levels, x = random_photos((N, CH, SIZE, SIZE), g)
        eps, zp = torch.randn(N, LATENT, generator=g), torch.randn(N, LATENT, generator=g)
        beta = kl_beta(config, i)
        if config.get('similarity') == 'discriminator':
            losses = larsen_step(vae, d, opt_vae, opt_d, x, eps, zp, beta, config['similarityLayer'])
        else:
            losses = pixels_step(vae, d, opt_vae, opt_d, x, eps, zp, beta, mode)
        noise = [eps] if d is None else [eps, zp]
        steps.append({'levels': levels_base64(levels), 'noise': [t.reshape(-1).tolist() for t in noise], **losses})
    save_networks(os.path.join(HERE, f'{name}_final.pth'), VAE=vae, D=d)
    section = {k: v for k, v in config.items() if k != 'family'}
    section.update(imageSize=SIZE, channels=CH, latent=LATENT, width=WIDTH)
    if d is not None: section['ndf'] = NDF
    json.dump({'family': config['family'], 'config': section, 'batch': N, 'steps': steps}, open(os.path.join(HERE, f'{name}.json'), 'w'))
    print(name, [{k: round(v, 4) for k, v in s.items() if isinstance(v, float)} for s in steps])


def main():
    run('vae_step', {'family': 'vae', 'reconstruction': 'mse', 'klWeight': 1, 'klWarmup': 2}, 51)
    run('vae_gan_step', {'family': 'vae-gan', 'reconstruction': 'bce'}, 52)
    run('vae_gan_larsen_step', {'family': 'vae-gan', 'similarity': 'discriminator', 'similarityLayer': 2}, 53)
    print('torch', torch.__version__)


if __name__ == '__main__':
    main()
