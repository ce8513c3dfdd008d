#!/usr/bin/env python3
"""Golden values for gantry's FID Inception-v3, computed by PyTorch (Debian's python3-torch):
    /usr/bin/python3 test/golden/make_inception.py

pytorch-fid's network (torchvision's Inception-v3 with the FID variants of the A, C and E blocks:
average pooling that does not count padding, max pooling in the last E block; 1008 logits) written
out here in plain torch, with every channel count divided by WIDTH so the weights stay small. Writes
  inception_w8.pth            seeded random weights, legacy torch.save format (as pytorch-fid's file)
  inception_golden.json       input images (uint8), their 64/192/768/2048-block features and logits
  inception_full_names.json   names and shapes of the full-size state dict (what pt_inception-*.pth holds)
  tiny_zip.pth                a small state dict in the zip format of torch >= 1.6
Input handling as pytorch-fid: [0,1] RGB, bilinear resize to 299 (align_corners=False), 2x-1.
"""
import json, os
import torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

class BasicConv2d(nn.Module):
    def __init__(s, cin, cout, **kw):
        super().__init__(); s.conv = nn.Conv2d(cin, cout, bias=False, **kw); s.bn = nn.BatchNorm2d(cout, eps=0.001)
    def forward(s, x): return F.relu(s.bn(s.conv(x)))

def make(w):
    c = lambda n: max(1, round(n / w))
    class A(nn.Module):
        def __init__(s, cin, pool):
            super().__init__()
            s.branch1x1 = BasicConv2d(cin, c(64), kernel_size=1)
            s.branch5x5_1 = BasicConv2d(cin, c(48), kernel_size=1); s.branch5x5_2 = BasicConv2d(c(48), c(64), kernel_size=5, padding=2)
            s.branch3x3dbl_1 = BasicConv2d(cin, c(64), kernel_size=1); s.branch3x3dbl_2 = BasicConv2d(c(64), c(96), kernel_size=3, padding=1)
            s.branch3x3dbl_3 = BasicConv2d(c(96), c(96), kernel_size=3, padding=1)
            s.branch_pool = BasicConv2d(cin, c(pool), kernel_size=1)
        def forward(s, x):
            return torch.cat([s.branch1x1(x), s.branch5x5_2(s.branch5x5_1(x)),
                              s.branch3x3dbl_3(s.branch3x3dbl_2(s.branch3x3dbl_1(x))),
                              s.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))], 1)
    class B(nn.Module):
        def __init__(s, cin):
            super().__init__()
            s.branch3x3 = BasicConv2d(cin, c(384), kernel_size=3, stride=2)
            s.branch3x3dbl_1 = BasicConv2d(cin, c(64), kernel_size=1); s.branch3x3dbl_2 = BasicConv2d(c(64), c(96), kernel_size=3, padding=1)
            s.branch3x3dbl_3 = BasicConv2d(c(96), c(96), kernel_size=3, stride=2)
        def forward(s, x):
            return torch.cat([s.branch3x3(x), s.branch3x3dbl_3(s.branch3x3dbl_2(s.branch3x3dbl_1(x))), F.max_pool2d(x, 3, 2)], 1)
    class C(nn.Module):
        def __init__(s, cin, c7):
            super().__init__(); c7 = c(c7)
            s.branch1x1 = BasicConv2d(cin, c(192), kernel_size=1)
            s.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1); s.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
            s.branch7x7_3 = BasicConv2d(c7, c(192), kernel_size=(7, 1), padding=(3, 0))
            s.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1); s.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            s.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3)); s.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            s.branch7x7dbl_5 = BasicConv2d(c7, c(192), kernel_size=(1, 7), padding=(0, 3))
            s.branch_pool = BasicConv2d(cin, c(192), kernel_size=1)
        def forward(s, x):
            b7 = s.branch7x7_3(s.branch7x7_2(s.branch7x7_1(x)))
            bd = s.branch7x7dbl_5(s.branch7x7dbl_4(s.branch7x7dbl_3(s.branch7x7dbl_2(s.branch7x7dbl_1(x)))))
            return torch.cat([s.branch1x1(x), b7, bd, s.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))], 1)
    class D(nn.Module):
        def __init__(s, cin):
            super().__init__()
            s.branch3x3_1 = BasicConv2d(cin, c(192), kernel_size=1); s.branch3x3_2 = BasicConv2d(c(192), c(320), kernel_size=3, stride=2)
            s.branch7x7x3_1 = BasicConv2d(cin, c(192), kernel_size=1); s.branch7x7x3_2 = BasicConv2d(c(192), c(192), kernel_size=(1, 7), padding=(0, 3))
            s.branch7x7x3_3 = BasicConv2d(c(192), c(192), kernel_size=(7, 1), padding=(3, 0)); s.branch7x7x3_4 = BasicConv2d(c(192), c(192), kernel_size=3, stride=2)
        def forward(s, x):
            return torch.cat([s.branch3x3_2(s.branch3x3_1(x)),
                              s.branch7x7x3_4(s.branch7x7x3_3(s.branch7x7x3_2(s.branch7x7x3_1(x)))), F.max_pool2d(x, 3, 2)], 1)
    class E(nn.Module):
        def __init__(s, cin, max_pool):
            super().__init__(); s.max_pool = max_pool
            s.branch1x1 = BasicConv2d(cin, c(320), kernel_size=1)
            s.branch3x3_1 = BasicConv2d(cin, c(384), kernel_size=1)
            s.branch3x3_2a = BasicConv2d(c(384), c(384), kernel_size=(1, 3), padding=(0, 1)); s.branch3x3_2b = BasicConv2d(c(384), c(384), kernel_size=(3, 1), padding=(1, 0))
            s.branch3x3dbl_1 = BasicConv2d(cin, c(448), kernel_size=1); s.branch3x3dbl_2 = BasicConv2d(c(448), c(384), kernel_size=3, padding=1)
            s.branch3x3dbl_3a = BasicConv2d(c(384), c(384), kernel_size=(1, 3), padding=(0, 1)); s.branch3x3dbl_3b = BasicConv2d(c(384), c(384), kernel_size=(3, 1), padding=(1, 0))
            s.branch_pool = BasicConv2d(cin, c(192), kernel_size=1)
        def forward(s, x):
            b3 = s.branch3x3_1(x); b3 = torch.cat([s.branch3x3_2a(b3), s.branch3x3_2b(b3)], 1)
            bd = s.branch3x3dbl_2(s.branch3x3dbl_1(x)); bd = torch.cat([s.branch3x3dbl_3a(bd), s.branch3x3dbl_3b(bd)], 1)
            pool = F.max_pool2d(x, 3, 1, 1) if s.max_pool else F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
            return torch.cat([s.branch1x1(x), b3, bd, s.branch_pool(pool)], 1)
    class Net(nn.Module):
        def __init__(s):
            super().__init__()
            s.Conv2d_1a_3x3 = BasicConv2d(3, c(32), kernel_size=3, stride=2); s.Conv2d_2a_3x3 = BasicConv2d(c(32), c(32), kernel_size=3)
            s.Conv2d_2b_3x3 = BasicConv2d(c(32), c(64), kernel_size=3, padding=1)
            s.Conv2d_3b_1x1 = BasicConv2d(c(64), c(80), kernel_size=1); s.Conv2d_4a_3x3 = BasicConv2d(c(80), c(192), kernel_size=3)
            s.Mixed_5b = A(c(192), 32); s.Mixed_5c = A(c(256), 64); s.Mixed_5d = A(c(288), 64)
            s.Mixed_6a = B(c(288)); s.Mixed_6b = C(c(768), 128); s.Mixed_6c = C(c(768), 160); s.Mixed_6d = C(c(768), 160); s.Mixed_6e = C(c(768), 192)
            s.Mixed_7a = D(c(768)); s.Mixed_7b = E(c(1280), False); s.Mixed_7c = E(c(2048), True)
            s.fc = nn.Linear(c(2048), 1008)
        def forward(s, img01):
            x = F.interpolate(img01, size=(299, 299), mode='bilinear', align_corners=False) * 2 - 1
            x = F.max_pool2d(s.Conv2d_2b_3x3(s.Conv2d_2a_3x3(s.Conv2d_1a_3x3(x))), 3, 2); f64 = x.mean((2, 3))
            x = F.max_pool2d(s.Conv2d_4a_3x3(s.Conv2d_3b_1x1(x)), 3, 2); f192 = x.mean((2, 3))
            for m in [s.Mixed_5b, s.Mixed_5c, s.Mixed_5d, s.Mixed_6a, s.Mixed_6b, s.Mixed_6c, s.Mixed_6d, s.Mixed_6e]: x = m(x)
            f768 = x.mean((2, 3))
            for m in [s.Mixed_7a, s.Mixed_7b, s.Mixed_7c]: x = m(x)
            f2048 = x.mean((2, 3))
            return f64, f192, f768, f2048, s.fc(f2048)
    return Net()

def main():
    full = make(1)
    json.dump([[k, list(v.shape)] for k, v in full.state_dict().items()], open(os.path.join(HERE, 'inception_full_names.json'), 'w'))

    torch.manual_seed(7)
    net = make(8).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0, (2.0 / (m.in_channels * m.kernel_size[0] * m.kernel_size[1])) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1, 0.1); m.bias.normal_(0, 0.1); m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 1.5)
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.05); m.bias.normal_(0, 0.05)
    torch.save(net.state_dict(), os.path.join(HERE, 'inception_w8.pth'), _use_new_zipfile_serialization=False)

    g = torch.Generator().manual_seed(11)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8),      # CIFAR-sized RGB
            torch.randint(0, 256, (1, 28, 28), generator=g, dtype=torch.uint8),      # MNIST-sized grey
            torch.randint(0, 256, (3, 320, 300), generator=g, dtype=torch.uint8)]    # larger than 299, not square
    golden = {'width': 8, 'images': []}
    with torch.no_grad():
        for im in imgs:
            x = im.float().div(255).unsqueeze(0)
            if x.shape[1] == 1: x = x.repeat(1, 3, 1, 1)
            f64, f192, f768, f2048, logits = net(x)
            golden['images'].append({'shape_chw': list(im.shape), 'data': im.reshape(-1).tolist(),
                                     'f64': f64[0].tolist(), 'f192': f192[0].tolist(), 'f768': f768[0].tolist(),
                                     'f2048': f2048[0].tolist(), 'logits': logits[0].tolist()})
    json.dump(golden, open(os.path.join(HERE, 'inception_golden.json'), 'w'))

    tiny = {'layer.weight': torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7, 'layer.bias': torch.tensor([1.5, -2.0, 0.25]),
            'transposed': (torch.arange(6, dtype=torch.float32).reshape(2, 3) + 1).t(), 'half': torch.tensor([0.5, -3.0], dtype=torch.float16),
            'bn.num_batches_tracked': torch.tensor(42)}
    torch.save(tiny, os.path.join(HERE, 'tiny_zip.pth'))
    print('wrote golden files to', HERE, 'torch', torch.__version__)


if __name__ == '__main__':
    main()
