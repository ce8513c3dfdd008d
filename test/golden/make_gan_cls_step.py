#!/usr/bin/env python3
"""Golden values for gantry's GAN-CLS / GAN-INT training step, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_gan_cls_step.py  ->  test/golden/gan_cls{,_authors}_step.json, ..._{init,final}.pth

Reed et al. 2016 on DCGAN's networks, written out here in plain torch from the paper (section 4, Algorithm 1
and eq. 5) at a small size (32x32 RGB, nz 8, ngf = ndf = 4, sentence vectors of 16, a text projection of 8):
  G: phi(t) -> LeakyReLU(FC(phi(t))) of 8, concatenated to z, then DCGAN's transposed convolutions.
  D: DCGAN's strided convolutions to 4x4; phi(t) -> LeakyReLU(FC(phi(t))), replicated over the 4x4 positions
     and depth-concatenated; a 1x1 convolution, batch norm, LeakyReLU and the 4x4 convolution to a score.
  D's loss (GAN-CLS): log D(x, h) + (log(1 - D(x, h^)) + log(1 - D(x^, h))) / 2, as BCE on logits; h^ the
  batch's sentence vectors rolled by a shift (each image with another's caption). G's loss: the
  non-saturating -log D(x^, h) and, GAN-INT, -log D(G(z', h_b), h_b), h_b = 0.5 h + 0.5 h rolled by a
  second shift. In pytorch/examples' order: one forward of G, D updated on the detached fake, G's loss through
  the updated D. Adam 2e-4, betas (0.5, 0.999); every network in training mode (batch statistics).
Two runs: gan_cls_step as above (the paper), and gan_cls_authors_step with the two places the authors' code
(reedscot/icml2016, main_cls_int.lua) differs: D's text projection is Linear, BatchNorm1d (weight N(1, 0.02)),
LeakyReLU; and G's interpolated-caption term weighs half the matched one (their G batch is n matched and n/2
interpolated pairs at weight 1 in one mean: 2/3 (matched + interpolated / 2), of which the 2/3 is left out).
The sentence vectors, the shifts and the noise are given, 3 steps of batch 16, the text
projections' biases starting at 0: a text unit of D on one side of its LeakyReLU for every image of a batch
has a bias that shifts all images alike, which the joint batch norm takes out, a gradient of rounding on which
Adam's step is noise (PyTorch's default biases put some units there in a batch of 4). The photos' 8-bit
levels (NHWC) as base64. Saved with gantry's
parameter names (G: main.*, text; D: main.*, text, joint.image, joint.text, joint.norm: the 1x1
convolution of the concatenation is split into its image and text columns, as gantry computes it).
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_photos import levels_base64, random_photos  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, CH, NZ, NGF, NDF, EMB, PROJ, N, STEPS, BETA = 32, 3, 8, 4, 4, 16, 8, 16, 3, 0.5


class Generator(nn.Module):
    def __init__(s):
        super().__init__()
        s.text = nn.Linear(EMB, PROJ)
        s.main = nn.Sequential(
            nn.ConvTranspose2d(NZ + PROJ, NGF * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
            nn.ConvTranspose2d(NGF, CH, 4, 2, 1, bias=False), nn.Tanh())

    def forward(s, z, phi):
        h = torch.cat([z, F.leaky_relu(s.text(phi), 0.2)], 1)
        return s.main(h[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(s, text_norm):
        super().__init__()
        s.main = nn.Sequential(
            nn.Conv2d(CH, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF * 4, 1, 4, 1, 0, bias=False))
        s.text = nn.Linear(EMB, PROJ)
        s.text_norm = nn.BatchNorm1d(PROJ) if text_norm else None
        s.joint = nn.Conv2d(NDF * 4 + PROJ, NDF * 4, 1, bias=False)
        s.joint_norm = nn.BatchNorm2d(NDF * 4)

    def forward(s, x, phi):
        h = s.main[:8](x)
        t = s.text(phi)
        if s.text_norm is not None: t = s.text_norm(t)
        t = F.leaky_relu(t, 0.2)[:, :, None, None].repeat(1, 1, 4, 4)
        joined = F.leaky_relu(s.joint_norm(s.joint(torch.cat([h, t], 1))), 0.2)
        return s.main[8](joined).view(-1)


def dcgan_init(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)): nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear): nn.init.zeros_(m.bias)  # so each text unit's sign varies over the batch
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)): nn.init.normal_(m.weight, 1.0, 0.02); nn.init.zeros_(m.bias)


def saved(G, D):
    """Both networks' tensors, prefixed G. and D., with D's joint convolution split as gantry holds it."""
    state = {f'G.{k}': v.detach().clone() for k, v in G.state_dict().items()}
    for k, v in D.state_dict().items():
        if k.startswith('joint.') or k.startswith('joint_norm.') or k.startswith('text_norm.'): continue
        state[f'D.{k}'] = v.detach().clone()
    c = NDF * 4
    w = D.joint.weight.detach()
    state['D.joint.image.weight'] = w[:, :c].clone()
    state['D.joint.text.weight'] = w[:, c:, 0, 0].clone()
    for k, v in D.joint_norm.state_dict().items(): state[f'D.joint.norm.{k}'] = v.detach().clone()
    if D.text_norm is not None:
        for k, v in D.text_norm.state_dict().items(): state[f'D.text.norm.{k}'] = v.detach().clone()
    return state


def run(name, text_norm, interpolation_weight):
    torch.manual_seed(41)
    G, D = Generator(), Discriminator(text_norm)
    dcgan_init(G); dcgan_init(D)
    torch.save(saved(G, D), os.path.join(HERE, f'{name}_init.pth'), _use_new_zipfile_serialization=False)
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(42)
    steps = []
    for _ in range(STEPS):
        levels, x = random_photos((N, CH, SIZE, SIZE), g)
        right = torch.randn(N, EMB, generator=g) * 2
        shifts = [1 + int(torch.randint(0, N - 1, (1,), generator=g)) for _ in range(2)]
        roll = lambda t, s: t[[(i + s) % N for i in range(N)]]
        wrong = roll(right, shifts[0])
        z = torch.randn(N, NZ, generator=g)
        between = BETA * right + (1 - BETA) * roll(right, shifts[1])
        z_between = torch.randn(N, NZ, generator=g)
        fake = G(z, right)
        loss_d = F.softplus(-D(x, right)).mean() + 0.5 * (F.softplus(D(x, wrong)).mean() + F.softplus(D(fake.detach(), right)).mean())
        oD.zero_grad(); loss_d.backward(); oD.step()
        loss_g = F.softplus(-D(fake, right)).mean() + interpolation_weight * F.softplus(-D(G(z_between, between), between)).mean()
        oG.zero_grad(); loss_g.backward(); oG.step()
        steps.append({'levels': levels_base64(levels), 'sentences': right.reshape(-1).tolist(), 'shifts': shifts,
                      'noise': [z.reshape(-1).tolist(), z_between.reshape(-1).tolist()], 'lossD': loss_d.item(), 'lossG': loss_g.item()})
    torch.save(saved(G, D), os.path.join(HERE, f'{name}_final.pth'), _use_new_zipfile_serialization=False)
    config = {'imageSize': SIZE, 'channels': CH, 'nz': NZ, 'ngf': NGF, 'ndf': NDF, 'embedDim': EMB, 'projectionDim': PROJ,
              'beta': BETA, 'interpolation': True, 'matchingAware': True, 'styleEncoder': False,
              'textNorm': text_norm, 'interpolationWeight': interpolation_weight}
    golden = {'config': config, 'batch': N, 'steps': steps}
    # A batch norm follows D's text projection: its bias's gradient is float32 rounding.
    if text_norm: golden['roundingOnly'] = ['D.text.bias']
    json.dump(golden, open(os.path.join(HERE, f'{name}.json'), 'w'))
    print(name, [{k: round(v, 5) for k, v in s.items() if isinstance(v, float)} for s in steps], 'torch', torch.__version__)


def main():
    run('gan_cls_step', text_norm=False, interpolation_weight=1.0)
    run('gan_cls_authors_step', text_norm=True, interpolation_weight=0.5)


if __name__ == '__main__':
    main()
