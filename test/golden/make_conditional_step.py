#!/usr/bin/env python3
"""Golden values for gantry's class-conditional GAN training steps, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_conditional_step.py  ->  test/golden/{cgan,cgan_hinge,cgan_wgan_gp,acgan,acgan_r1}_step.json,
                                                               and their _init.pth / _final.pth

DCGAN's networks at 32x32 RGB (nz 8, ngf = ndf = 4, 5 classes), written here in plain torch, 3 steps of batch 16:
  G reads z multiplied element-wise by a learned class embedding (size nz), or ("concat") z with an embedding
    of 6 appended; the embedding is a bias-free linear map of one-hot class weights.
  cgan: the projection discriminator of Miyato & Koyama 2018, D(x, y) = psi(phi(x)) + <embed(y), sum over the
    4x4 positions of phi(x)>, phi D's last feature map and psi its final 4x4 convolution; BCE on the logits
    (non-saturating G), or the hinge loss (cgan_hinge, with the concatenated embedding), or WGAN-GP (cgan_wgan_gp:
    D without batch norm, its convolutions with biases; D minimises mean D(fake) - mean D(real) + 10 * mean
    (||dD(x_hat, w_hat)/dx_hat||_2 - 1)^2 at x_hat = eps * real + (1 - eps) * fake and the class weights mixed
    alike, w_hat = eps * real_w + (1 - eps) * fake_w, eps ~ U(0, 1) per image drawn after the fakes' classes;
    G minimises -mean D(fake); Adam 1e-4, betas (0, 0.9); D's convolutions start at 5 times DCGAN's weights, so
    that the gradients at the interpolates have norms near 1, saved as 'norms').
  acgan: Odena et al. 2017's auxiliary classifier: a linear class head on D's last feature map (flattened as
    gantry holds it, height, width, channel); D minimises the real/fake BCE + the class cross-entropy of real
    and fake images, G the non-saturating BCE + its fakes' class cross-entropy (weight 1); acgan_r1 adds R1 to
    D's loss, gamma/2 times the mean squared norm of the summed real logits' gradient by the images (gamma 10),
    back-propagated through D's batch norms twice.
In pytorch/examples' order: one forward of G, D updated on the detached fake, G's loss through the updated D;
Adam 2e-4, betas (0.5, 0.999) unless the config says otherwise, every network in training mode. The real images' classes, the noise and the
fakes' classes are given; the photos' 8-bit levels (NHWC) as base64. Saved with gantry's parameter names,
prefixed G. and D. AC-GAN's seed is one whose steps put none of D's first pre-activations within rounding of
0: seed 63's second step had one at -8e-9, on whose LeakyReLU slope the CPU and WebGPU (3e-9) differed, which
moved that layer's weights 2% of Adam's step apart.
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan_nets import dcgan_init, discriminator_main  # noqa: E402
from golden_photos import levels_base64, random_photos, save_networks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, CH, NZ, NGF, NDF, K, EMBED, N, STEPS = 32, 3, 8, 4, 4, 5, 6, 16, 3


class Generator(nn.Module):
    def __init__(s, concat):
        super().__init__()
        s.concat = concat
        s.embed = nn.Linear(K, EMBED if concat else NZ, bias=False)
        s.main = nn.Sequential(
            nn.ConvTranspose2d(NZ + (EMBED if concat else 0), NGF * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
            nn.ConvTranspose2d(NGF, CH, 4, 2, 1, bias=False), nn.Tanh())

    def forward(s, z, weights):
        e = s.embed(weights)
        h = torch.cat([z, e], 1) if s.concat else z * e
        return s.main(h[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(s, head, batch_norm=True):
        super().__init__()
        s.main = discriminator_main(CH, NDF, batch_norm)
        s.head = head
        if head == 'projection': s.embed = nn.Linear(K, NDF * 4, bias=False)
        else: s.classHead = nn.Linear(16 * NDF * 4, K)

    def forward(s, x, weights):
        """Real/fake logits [n], and the class logits [n, K] (auxiliary classifier) or None."""
        h = s.main[:8](x)
        source = s.main[8](h).view(-1)
        if s.head == 'projection':
            return source + (s.embed(weights)[:, :, None, None] * h).sum((1, 2, 3)), None
        return source, s.classHead(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1))


def run(name, family, config, seed):
    torch.manual_seed(seed)
    concat = config.get('conditioning') == 'concat'
    wgan = config.get('loss') == 'wgan-gp'
    G, D = Generator(concat), Discriminator('projection' if family == 'cgan' else 'classifier', batch_norm=not wgan)
    dcgan_init(G, lambda m: 1.0); dcgan_init(D, lambda m: 0.02)
    if family == 'cgan': nn.init.normal_(D.embed.weight, 0.0, (NDF * 4) ** -0.5)  # as gantry draws it
    if wgan:  # D's convolutions x 5: gradients at the interpolates of norm near 1, where the penalty tells them apart
        with torch.no_grad():
            for m in D.main:
                if isinstance(m, nn.Conv2d): m.weight.mul_(5)
    save_networks(os.path.join(HERE, f'{name}_init.pth'), G=G, D=D)
    lr, betas = config.get('lr', 2e-4), (config.get('beta1', 0.5), config.get('beta2', 0.999))
    oG = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    oD = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    hinge = config.get('loss') == 'hinge'
    g = torch.Generator().manual_seed(seed + 1)
    steps = []
    for _ in range(STEPS):
        levels, x = random_photos((N, CH, SIZE, SIZE), g)
        labels = torch.randint(0, K, (N,), generator=g)
        z = torch.randn(N, NZ, generator=g)
        fake_labels = torch.randint(0, K, (N,), generator=g)
        real_w, fake_w = F.one_hot(labels, K).float(), F.one_hot(fake_labels, K).float()
        fake = G(z, fake_w)
        r1 = config.get('r1', 0)
        x.requires_grad_(r1 > 0)
        (rs, rc), (fs, fc) = D(x, real_w), D(fake.detach(), fake_w)
        out = {}
        if family == 'acgan':
            class_real = F.cross_entropy(rc, labels)
            loss_d = F.softplus(-rs).mean() + F.softplus(fs).mean() + (class_real + F.cross_entropy(fc, fake_labels))
            out['classReal'] = class_real.item()
        elif hinge:
            loss_d = F.relu(1 - rs).mean() + F.relu(1 + fs).mean()
        elif wgan:
            loss_d = fs.mean() - rs.mean()
            eps = torch.rand(N, 1, 1, 1, generator=g)
            mixed = (eps * x + (1 - eps) * fake.detach()).requires_grad_(True)
            grad, = torch.autograd.grad(D(mixed, eps[:, :, 0, 0] * real_w + (1 - eps[:, :, 0, 0]) * fake_w)[0].sum(), mixed, create_graph=True)
            gp = 10 * (grad.reshape(N, -1).norm(2, dim=1) - 1).square().mean()
            loss_d = loss_d + gp
            out['gp'], out['eps'], out['norms'] = gp.item(), eps.reshape(-1).tolist(), grad.reshape(N, -1).norm(2, dim=1).tolist()
        else:
            loss_d = F.softplus(-rs).mean() + F.softplus(fs).mean()
        if r1 > 0:  # StyleGAN2's R1: the gradient of the summed real logits, kept in the graph
            grad, = torch.autograd.grad(rs.sum(), x, create_graph=True)
            penalty = grad.square().sum((1, 2, 3)).mean() * (r1 / 2)
            loss_d = loss_d + penalty
            out['r1'] = penalty.item()
        oD.zero_grad(); loss_d.backward(); oD.step()
        gs, gc = D(fake, fake_w)
        if family == 'acgan': loss_g = F.softplus(-gs).mean() + F.cross_entropy(gc, fake_labels)
        else: loss_g = -gs.mean() if hinge or wgan else F.softplus(-gs).mean()
        oG.zero_grad(); loss_g.backward(); oG.step()
        steps.append({'levels': levels_base64(levels), 'labels': labels.tolist(), 'noise': z.reshape(-1).tolist(),
                      'fakeLabels': fake_labels.tolist(), 'lossD': loss_d.item(), 'lossG': loss_g.item(), **out})
    save_networks(os.path.join(HERE, f'{name}_final.pth'), G=G, D=D)
    section = {'imageSize': SIZE, 'channels': CH, 'nz': NZ, 'ngf': NGF, 'ndf': NDF, 'numClasses': K, **config}
    if concat: section['embedDim'] = EMBED
    json.dump({'family': family, 'config': section, 'batch': N, 'steps': steps}, open(os.path.join(HERE, f'{name}.json'), 'w'))
    print(name, [{k: round(v, 5) for k, v in s.items() if isinstance(v, float)} for s in steps])


def main():
    run('cgan_step', 'cgan', {}, 61)
    run('cgan_hinge_step', 'cgan', {'loss': 'hinge', 'conditioning': 'concat'}, 62)
    run('cgan_wgan_gp_step', 'cgan', {'loss': 'wgan-gp', 'lr': 1e-4, 'beta1': 0.0, 'beta2': 0.9}, 66)
    run('acgan_step', 'acgan', {}, 64)
    run('acgan_r1_step', 'acgan', {'r1': 10}, 65)
    print('torch', torch.__version__)


if __name__ == '__main__':
    main()
