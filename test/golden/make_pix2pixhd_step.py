#!/usr/bin/env python3
"""Golden values for gantry's whole pix2pixHD training step, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_pix2pixhd_step.py [RUN ...]   (the runs named, merged into the JSON; none: all)

The step as NVIDIA's train.py and Pix2PixHDModel.forward take it: one forward pass (E's instance features
of the real photos concatenated to the one-hot labels and boundary map, G's fake), D judging the detached
fake and the real pair, G's loss through that same D: LSGAN + feature matching (D's features of the real
pair detached; weights 4 / (n_layers + 1) and 1 / num_D, times lambda_feat) + VGG loss (times lambda_feat,
VGG19 as make_vgg19.py writes it: 1/8 width, seeded); then optimizer_G (G's and E's parameters) steps on
loss_G, and optimizer_D on (D_fake + D_real) / 2. Adam 2e-4, betas (0.5, 0.999).

Three runs, each from seeded weights over fresh random batches (2 pairs of 32x48, 6 labels, instance maps
with up to two instances a label):
  global  G1 (ngf 4, 2 down-samplings, 2 blocks) with E (nef 4, 2 down-samplings, 3 features), D at two
          scales (ndf 4, n_layers 2), the VGG loss; 2 steps
  local   G2 (ngf 4) around G1 (ngf 8), no E, no VGG loss; niter_fix_global of one step: the first step's
          optimizer_G holds G2's parameters (model1_*) only, then update_fixed_params makes a fresh Adam
          over all of G; 3 steps
  labelfeat  as global without the VGG loss, with --label_feat: encode_input hands E the label map in
          place of the instance map, so E pools per label (the boundary map still from the instances)
  loadfeat  as global without the VGG loss, with --load_features: no E; G reads each step's precomputed
          feature maps (random 8-bit RGB levels, normalised as the aligned dataset does: (l / 255 - 0.5) / 0.5)
Writes (the networks' state dicts in one file a run, each name prefixed with its network, "G.", "D.", "E."):
  pix2pixhd_step_{global,local,labelfeat,loadfeat}_{init,final}.pth, and pix2pixhd_step.json (each run's config, and each step's instance
  maps (the label map is id // 1000), photos and feature maps (8-bit levels, NHWC, base64) and losses: loss_D and loss_G with its terms, and the names of the biases an
  instance norm follows)
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_pix2pixhd import GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator, Encoder, weights_init, get_edges, lsgan  # noqa: E402
from make_vgg19 import Vgg, vgg_loss  # noqa: E402
from golden_photos import levels_base64, random_photos  # noqa: E402

LABEL_NC, N, H, W = 6, 2, 32, 48
LAMBDA_FEAT = 10.0


def vgg_loss_fn():
    """pix2pixHD's VGGLoss over make_vgg19.py's seeded 1/8-width VGG19 (its vgg19_w8.pth)."""
    net = Vgg()
    net.load_state_dict(torch.load(os.path.join(HERE, 'vgg19_w8.pth')))
    for p in net.parameters(): p.requires_grad_(False)
    loss = vgg_loss(net.features)
    return lambda x, y: loss(x, y)[0]


def batch(g):
    """Label maps of 4x4 blocks, Cityscapes-style instance ids (label * 1000 + k), and photos: their levels and images."""
    labels = torch.randint(0, LABEL_NC, (N, 1, H // 4, W // 4), generator=g).repeat_interleave(4, 2).repeat_interleave(4, 3)
    inst = labels * 1000 + torch.randint(0, 2, (N, 1, H // 8, W // 8), generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3)
    return (labels, inst, *random_photos((N, 3, H, W), g))


def official_step(G, D, E, vgg, oG, oD, labels, inst, real, n_layers, num_d, label_feat, feat=None):
    one_hot = torch.zeros(N, LABEL_NC, H, W).scatter_(1, labels, 1.0)
    input_label = torch.cat([one_hot, get_edges(inst)], 1)
    regions = labels if label_feat else inst
    if feat is not None: input_concat = torch.cat([input_label, feat], 1)
    elif E is not None: input_concat = torch.cat([input_label, E(real, regions)], 1)
    else: input_concat = input_label
    fake = G(input_concat)
    pred_fake_pool = D(torch.cat([input_label, fake.detach()], 1))
    loss_d_fake = lsgan(pred_fake_pool, False)
    pred_real = D(torch.cat([input_label, real.detach()], 1))
    loss_d_real = lsgan(pred_real, True)
    pred_fake = D(torch.cat([input_label, fake], 1))
    loss_g_gan = lsgan(pred_fake, True)
    loss_g_feat = 0.0
    for i in range(num_d):
        for j in range(len(pred_fake[i]) - 1):
            loss_g_feat = loss_g_feat + (4.0 / (n_layers + 1)) * (1.0 / num_d) * F.l1_loss(pred_fake[i][j], pred_real[i][j].detach()) * LAMBDA_FEAT
    loss_g_vgg = vgg(fake, real) * LAMBDA_FEAT if vgg is not None else torch.zeros(())
    loss_d = (loss_d_fake + loss_d_real) * 0.5
    loss_g = loss_g_gan + loss_g_feat + loss_g_vgg
    oG.zero_grad(); loss_g.backward(); oG.step()
    oD.zero_grad(); loss_d.backward(); oD.step()
    return {'lossD': loss_d.item(), 'lossG': loss_g.item(), 'gan': loss_g_gan.item(), 'feat': float(loss_g_feat), 'vgg': loss_g_vgg.item()}


def state(nets):
    return {f'{name}.{k}': v.detach().clone() for name, net in nets.items() if net is not None for k, v in net.state_dict().items()}


def biases_before_norm(nets):
    """The convolutions' biases an instance norm follows: their gradient is zero but for rounding."""
    names = []
    for net_name, net in nets.items():
        if net is None: continue
        for seq_name, seq in net.named_modules():
            if not isinstance(seq, nn.Sequential): continue
            kids = list(seq.named_children())
            for (a, conv), (_, norm) in zip(kids, kids[1:]):
                if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(norm, nn.InstanceNorm2d):
                    names.append('.'.join(filter(None, [net_name, seq_name, a, 'bias'])))
    return names


def adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def run(name, local, features, use_vgg, steps, fix_global, seed, label_feat=False, load_features=False):
    ngf, n_down, n_blocks, ndf, n_layers, num_d = 4, 2, 2, 4, 2, 2
    feat_num = 3 if features or load_features else 0
    torch.manual_seed(seed)
    in_g = LABEL_NC + 1 + feat_num
    G = LocalEnhancer(in_g, 3, ngf, n_down, n_blocks, n_blocks_local=1) if local else GlobalGenerator(in_g, 3, ngf, n_down, n_blocks)
    G.apply(weights_init)
    D = MultiscaleDiscriminator(LABEL_NC + 1 + 3, ndf, n_layers, num_d); D.apply(weights_init)
    E = None
    if features:
        E = Encoder(3, feat_num, 4, 2); E.apply(weights_init)
    vgg = vgg_loss_fn() if use_vgg else None
    nets = {'G': G, 'D': D, 'E': E}
    torch.save(state(nets), os.path.join(HERE, f'pix2pixhd_step_{name}_init.pth'), _use_new_zipfile_serialization=False)

    def optimizer_g(all_of_g):
        params = list(G.parameters()) if all_of_g else [v for k, v in G.named_parameters() if k.startswith('model1')]
        return adam(params + (list(E.parameters()) if E is not None else []))
    oG, oD = optimizer_g(fix_global == 0), adam(D.parameters())
    g = torch.Generator().manual_seed(seed + 100)
    record = []
    for step in range(steps):
        if fix_global > 0 and step == fix_global:
            oG = optimizer_g(True)  # update_fixed_params: a fresh Adam over all of G (and E)
        labels, inst, levels, real = batch(g)
        loaded = {}
        feat = None
        if load_features:
            feat_levels = torch.randint(0, 256, (N, 3, H, W), generator=g)
            feat = (feat_levels.float() / 255 - 0.5) / 0.5
            loaded = {'features': levels_base64(feat_levels)}
        losses = official_step(G, D, E, vgg, oG, oD, labels, inst, real, n_layers, num_d, label_feat, feat)
        record.append({'instances': inst[:, 0].reshape(-1).tolist(), 'levels': levels_base64(levels), **loaded, **losses})
    torch.save(state(nets), os.path.join(HERE, f'pix2pixhd_step_{name}_final.pth'), _use_new_zipfile_serialization=False)
    config = {'labelNc': LABEL_NC, 'instances': True, 'height': H, 'width': W, 'netG': 'local' if local else 'global',
              'ngf': ngf, 'nDown': n_down, 'nBlocks': n_blocks, 'nBlocksLocal': 1, 'ndf': ndf, 'nLayers': n_layers, 'numD': num_d,
              'featNum': feat_num, 'nef': 4, 'nDownE': 2, 'labelFeat': label_feat, 'loadFeatures': load_features, 'vgg': use_vgg, 'fixGlobalSteps': fix_global,
              'lambdaFeat': LAMBDA_FEAT, 'lambdaVgg': LAMBDA_FEAT}
    return {'config': config, 'batch': [N, H, W], 'steps': record, 'biasesBeforeNorm': biases_before_norm(nets)}


RUNS = {
    'global': lambda: run('global', local=False, features=True, use_vgg=True, steps=2, fix_global=0, seed=21),
    'local': lambda: run('local', local=True, features=False, use_vgg=False, steps=3, fix_global=1, seed=22),
    'labelfeat': lambda: run('labelfeat', local=False, features=True, use_vgg=False, steps=2, fix_global=0, seed=23, label_feat=True),
    'loadfeat': lambda: run('loadfeat', local=False, features=False, use_vgg=False, steps=2, fix_global=0, seed=24, load_features=True),
}


def main():
    names = sys.argv[1:] or list(RUNS)
    path = os.path.join(HERE, 'pix2pixhd_step.json')
    golden = json.load(open(path)) if sys.argv[1:] and os.path.exists(path) else {}
    made = {name: RUNS[name]() for name in names}
    golden.update(made)
    json.dump(golden, open(path, 'w'))
    for name, r in made.items():
        print(name, [{k: round(v, 5) for k, v in s.items() if isinstance(v, float)} for s in r['steps']])
    print('torch', torch.__version__)


if __name__ == '__main__':
    main()
