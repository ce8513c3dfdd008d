#!/usr/bin/env python3
"""Golden values for gantry's pix2pixHD networks, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_pix2pixhd.py

The networks as NVIDIA's pix2pixHD builds them (models/networks.py: GlobalGenerator, ResnetBlock,
NLayerDiscriminator with getIntermFeat, MultiscaleDiscriminator; InstanceNorm2d(affine=False); conv
weights N(0, 0.02) as its weights_init, biases PyTorch's default), written out here in plain torch with
the same module names, so the state dicts carry the official parameter names. Small sizes: 6 labels,
ngf 4, two down-samplings, two residual blocks; ndf 4, n_layers 2, num_D 2. Writes
  pix2pixhd_G.pth, pix2pixhd_D.pth   the seeded weights (legacy torch.save format)
  pix2pixhd_G_local.pth              a local enhancer (G2, ngf 4, around G1 at ngf 8), official names
  pix2pixhd_E.pth                    the instance feature encoder (nef 4, 2 down-samplings, 3 features)
  pix2pixhd_golden.json              a label map and an instance map (2 x 16 x 24), the edge map, the
                                     one-hot input, G's output, D's features of (input, image) at both
                                     scales, the LSGAN and feature-matching losses, and the 3x3/2
                                     average pooling (count_include_pad=False) of the input with its
                                     gradient for a weighted sum, the local enhancer's output, and
                                     the encoder's instance-pooled features of the real images with the
                                     gradient of a weighted sum of them
"""
import json, os
import torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
IN = lambda c: nn.InstanceNorm2d(c, affine=False)


class ResnetBlock(nn.Module):
    def __init__(s, dim):
        super().__init__()
        s.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), IN(dim), nn.ReLU(True),
                                     nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), IN(dim))

    def forward(s, x): return x + s.conv_block(x)


class GlobalGenerator(nn.Module):
    def __init__(s, input_nc, output_nc, ngf, n_down, n_blocks):
        super().__init__()
        m = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), IN(ngf), nn.ReLU(True)]
        for i in range(n_down):
            c = ngf * 2 ** i
            m += [nn.Conv2d(c, c * 2, 3, 2, 1), IN(c * 2), nn.ReLU(True)]
        c = ngf * 2 ** n_down
        m += [ResnetBlock(c) for _ in range(n_blocks)]
        for i in range(n_down):
            c = ngf * 2 ** (n_down - i)
            m += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), IN(c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        s.model = nn.Sequential(*m)

    def forward(s, x): return s.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(s, input_nc, ndf, n_layers):
        super().__init__()
        s.n_layers = n_layers
        seq = [[nn.Conv2d(input_nc, ndf, 4, 2, 2), nn.LeakyReLU(0.2, True)]]
        nf = ndf
        for _ in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            seq += [[nn.Conv2d(prev, nf, 4, 2, 2), IN(nf), nn.LeakyReLU(0.2, True)]]
        prev, nf = nf, min(nf * 2, 512)
        seq += [[nn.Conv2d(prev, nf, 4, 1, 2), IN(nf), nn.LeakyReLU(0.2, True)]]
        seq += [[nn.Conv2d(nf, 1, 4, 1, 2)]]
        for n, layers in enumerate(seq): setattr(s, 'model' + str(n), nn.Sequential(*layers))


def down(x): return F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)


class LocalEnhancer(nn.Module):
    """G2 around G1 (n_local_enhancers 1): G1 at 2 ngf without its last pad / conv / tanh reads the input
    down-sampled; model1_1 is G2's front end, model1_2 its residual blocks and head."""
    def __init__(s, input_nc, output_nc, ngf, n_down, n_blocks, n_blocks_local=3):
        super().__init__()
        g = GlobalGenerator(input_nc, output_nc, ngf * 2, n_down, n_blocks).model
        s.model = nn.Sequential(*[g[i] for i in range(len(g) - 3)])
        s.model1_1 = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), IN(ngf), nn.ReLU(True),
                                   nn.Conv2d(ngf, ngf * 2, 3, 2, 1), IN(ngf * 2), nn.ReLU(True))
        s.model1_2 = nn.Sequential(*[ResnetBlock(ngf * 2) for _ in range(n_blocks_local)],
                                   nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), IN(ngf), nn.ReLU(True),
                                   nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh())

    def forward(s, x): return s.model1_2(s.model1_1(x) + s.model(down(x)))


class MultiscaleDiscriminator(nn.Module):
    def __init__(s, input_nc, ndf, n_layers, num_D):
        super().__init__()
        s.num_D, s.n_layers = num_D, n_layers
        for i in range(num_D):
            net = NLayerDiscriminator(input_nc, ndf, n_layers)
            for j in range(n_layers + 2): setattr(s, f'scale{i}_layer{j}', getattr(net, 'model' + str(j)))

    def forward(s, x):
        result = []
        for i in range(s.num_D):
            feats = [x]
            for j in range(s.n_layers + 2): feats.append(getattr(s, f'scale{s.num_D - 1 - i}_layer{j}')(feats[-1]))
            result.append(feats[1:])
            if i != s.num_D - 1: x = down(x)
        return result


class Encoder(nn.Module):
    """The instance feature encoder E (networks.py Encoder, instance norm) with its instance-wise average pooling."""
    def __init__(s, input_nc, output_nc, ngf, n_down):
        super().__init__()
        s.output_nc = output_nc
        m = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), IN(ngf), nn.ReLU(True)]
        for i in range(n_down):
            mult = 2 ** i
            m += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1), IN(ngf * mult * 2), nn.ReLU(True)]
        for i in range(n_down):
            mult = 2 ** (n_down - i)
            m += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1), IN(ngf * mult // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        s.model = nn.Sequential(*m)

    def forward(s, x, inst):
        out = s.model(x)
        mean = out.clone()
        for i in torch.unique(inst):
            for b in range(x.size(0)):
                idx = (inst[b:b + 1] == i).nonzero()
                for j in range(s.output_nc):
                    vals = out[idx[:, 0] + b, idx[:, 1] + j, idx[:, 2], idx[:, 3]]
                    mean[idx[:, 0] + b, idx[:, 1] + j, idx[:, 2], idx[:, 3]] = torch.mean(vals).expand_as(vals)
        return mean


def weights_init(m):
    if m.__class__.__name__.find('Conv') != -1: m.weight.data.normal_(0.0, 0.02)


def get_edges(t):
    edge = torch.zeros(t.size(), dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    return edge.float()


def lsgan(preds, real):
    return sum(F.mse_loss(p[-1], torch.full_like(p[-1], 1.0 if real else 0.0)) for p in preds)


def main():
    label_nc, ngf, n_down, n_blocks, ndf, n_layers, num_d = 6, 4, 2, 2, 4, 2, 2
    torch.manual_seed(3)
    G = GlobalGenerator(label_nc + 1, 3, ngf, n_down, n_blocks); G.apply(weights_init)
    D = MultiscaleDiscriminator(label_nc + 1 + 3, ndf, n_layers, num_d); D.apply(weights_init)
    torch.save(G.state_dict(), os.path.join(HERE, 'pix2pixhd_G.pth'), _use_new_zipfile_serialization=False)
    torch.save(D.state_dict(), os.path.join(HERE, 'pix2pixhd_D.pth'), _use_new_zipfile_serialization=False)

    g = torch.Generator().manual_seed(5)
    n, h, w = 2, 16, 24
    # Label maps of blocks (so edges are sparse), instance ids as Cityscapes writes them (label * 1000 + k).
    labels = torch.randint(0, label_nc, (n, 1, h // 4, w // 4), generator=g).repeat_interleave(4, 2).repeat_interleave(4, 3)
    inst = labels * 1000 + torch.randint(0, 2, (n, 1, h // 2, w // 2), generator=g).repeat_interleave(2, 2).repeat_interleave(2, 3)
    one_hot = torch.zeros(n, label_nc, h, w).scatter_(1, labels, 1.0)
    edges = get_edges(inst)
    x = torch.cat([one_hot, edges], 1)
    real = torch.rand(n, 3, h, w, generator=g) * 2 - 1
    with torch.no_grad():
        fake = G(x)
        pred_fake = D(torch.cat([x, fake], 1))
        pred_real = D(torch.cat([x, real], 1))
        feat = 0.0
        for i in range(num_d):
            for j in range(len(pred_fake[i]) - 1):
                feat += (4.0 / (n_layers + 1)) * (1.0 / num_d) * F.l1_loss(pred_fake[i][j], pred_real[i][j]) * 10.0
    xp = x.clone().requires_grad_(True)
    pooled = down(xp)
    weights = torch.rand(pooled.shape, generator=g)
    (pooled * weights).sum().backward()

    nhwc = lambda t: t.permute(0, 2, 3, 1).reshape(-1).tolist()
    shape = lambda t: [t.shape[0], t.shape[2], t.shape[3], t.shape[1]]
    golden = {
        'config': {'labelNc': label_nc, 'ngf': ngf, 'nDown': n_down, 'nBlocks': n_blocks, 'ndf': ndf, 'nLayers': n_layers, 'numD': num_d},
        'labels': labels[:, 0].reshape(-1).tolist(), 'instances': inst[:, 0].reshape(-1).tolist(), 'size': [n, h, w],
        'edges': nhwc(edges), 'input': nhwc(x), 'real': nhwc(real),
        'fake': {'shape': shape(fake), 'data': nhwc(fake)},
        'dFake': [[{'shape': shape(f), 'data': nhwc(f)} for f in scale] for scale in pred_fake],
        'dReal': [[{'shape': shape(f), 'data': nhwc(f)} for f in scale] for scale in pred_real],
        'lossGanFake': lsgan(pred_fake, False).item(), 'lossGanReal': lsgan(pred_real, True).item(), 'lossGanFakeAsReal': lsgan(pred_fake, True).item(),
        'lossFeat': float(feat),
        'pooled': {'shape': shape(pooled), 'data': nhwc(pooled.detach())}, 'poolWeights': nhwc(weights), 'poolGrad': nhwc(xp.grad),
    }
    # The local enhancer (G2 at ngf 4 around G1 at 8), its own seed: the values above stay as they were.
    torch.manual_seed(7)
    L = LocalEnhancer(label_nc + 1, 3, ngf, n_down, n_blocks); L.apply(weights_init)
    torch.save(L.state_dict(), os.path.join(HERE, 'pix2pixhd_G_local.pth'), _use_new_zipfile_serialization=False)
    with torch.no_grad():
        fake_local = L(x)
    golden['fakeLocal'] = {'shape': shape(fake_local), 'data': nhwc(fake_local)}
    # The feature encoder (nef 4, two down-samplings, 3 features) on the real images, pooled per instance,
    # and the gradient of a weighted sum of its output with respect to the images.
    torch.manual_seed(11)
    E = Encoder(3, 3, 4, 2); E.apply(weights_init)
    torch.save(E.state_dict(), os.path.join(HERE, 'pix2pixhd_E.pth'), _use_new_zipfile_serialization=False)
    rp = real.clone().requires_grad_(True)
    feat = E(rp, inst)
    fw = torch.rand(feat.shape, generator=g)
    (feat * fw).sum().backward()
    golden['encoded'] = {'shape': shape(feat), 'data': nhwc(feat.detach())}
    golden['encodedWeights'] = nhwc(fw)
    golden['encodedGrad'] = nhwc(rp.grad)
    json.dump(golden, open(os.path.join(HERE, 'pix2pixhd_golden.json'), 'w'))
    print('wrote pix2pixhd_G.pth, pix2pixhd_G_local.pth, pix2pixhd_D.pth and pix2pixhd_golden.json to', HERE, 'torch', torch.__version__)


if __name__ == '__main__':
    main()
