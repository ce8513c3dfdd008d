#!/usr/bin/env python3
"""Golden values for a pix2pixHD generator trained with instance features by NVIDIA's code
(--instance_feat, feat_num 3), computed by PyTorch and NumPy:
    /usr/bin/python3 test/golden/make_pix2pixhd_features.py

Its networks are make_pix2pixhd.py's (NVIDIA's layout and names). G reads the one-hot labels, the instance
edge map and 3 feature channels (6 + 1 + 3 inputs; ngf 4, two down-samplings, two residual blocks). The
clustered features are what encode_features.py saves, np.save of a dict {label: centres [k, feat_num]},
here with k = 1 + label % 3 random centres per label. At test time NVIDIA's sample_features gives every
instance of a label one of its label's centres at random; here the pick is fixed (centre label % 3, the
last of each label's) so that gantry's `--clusters` can ask for the same. Reads the maps of
pix2pixhd_golden.json and writes
  pix2pixhd_G_feat.pth                    the generator (legacy torch.save format)
  pix2pixhd_features_clustered.npy        the centres, as np.save writes them (pickle protocol 3)
  pix2pixhd_features_clustered_p2.npy     the same with pickle protocol 2 (bytes as _codecs.encode)
  pix2pixhd_features_golden.json          the picks, the feature map and G's output
"""
import json, os, pickle
import numpy as np
import torch
from make_pix2pixhd import HERE, GlobalGenerator, get_edges, weights_init


def main():
    golden = json.load(open(os.path.join(HERE, 'pix2pixhd_golden.json')))
    label_nc, feat_num = golden['config']['labelNc'], 3
    n, h, w = golden['size']
    labels = torch.tensor(golden['labels']).reshape(n, 1, h, w)
    inst = torch.tensor(golden['instances']).reshape(n, 1, h, w)

    torch.manual_seed(13)
    G = GlobalGenerator(label_nc + 1 + feat_num, 3, 4, 2, 2); G.apply(weights_init)
    torch.save(G.state_dict(), os.path.join(HERE, 'pix2pixhd_G_feat.pth'), _use_new_zipfile_serialization=False)

    rng = np.random.RandomState(17)
    centres = {label: rng.uniform(-1, 1, (1 + label % 3, feat_num)) for label in range(label_nc)}
    np.save(os.path.join(HERE, 'pix2pixhd_features_clustered.npy'), centres)
    boxed = np.empty((), dtype=object)
    boxed[()] = centres
    # NumPy now always pickles with protocol 3; an older one (Python 2's) wrote protocol 2 after the same header.
    with open(os.path.join(HERE, 'pix2pixhd_features_clustered_p2.npy'), 'wb') as f:
        np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(boxed))
        pickle.dump(boxed, f, protocol=2)
    picks = {label: label % 3 for label in range(label_nc)}

    # sample_features with the picks above: every pixel of instance i gets its label's chosen centre.
    feat_map = torch.zeros(n, feat_num, h, w)
    for i in np.unique(inst.numpy()):
        label = i if i < 1000 else i // 1000
        idx = (inst == int(i)).nonzero()
        for k in range(feat_num):
            feat_map[idx[:, 0], idx[:, 1] + k, idx[:, 2], idx[:, 3]] = float(centres[label][picks[label], k])
    one_hot = torch.zeros(n, label_nc, h, w).scatter_(1, labels, 1.0)
    x = torch.cat([one_hot, get_edges(inst), feat_map], 1)
    with torch.no_grad():
        fake = G(x)
    nhwc = lambda t: t.permute(0, 2, 3, 1).reshape(-1).tolist()
    json.dump({
        'featNum': feat_num, 'picks': picks, 'features': nhwc(feat_map),
        'fake': {'shape': [n, h, w, 3], 'data': nhwc(fake)},
    }, open(os.path.join(HERE, 'pix2pixhd_features_golden.json'), 'w'))
    print('wrote pix2pixhd_G_feat.pth, pix2pixhd_features_clustered{,_p2}.npy and pix2pixhd_features_golden.json to', HERE, 'torch', torch.__version__, 'numpy', np.__version__)


if __name__ == '__main__':
    main()
