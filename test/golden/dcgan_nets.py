"""DCGAN's discriminator body at 32x32 and its initialisation, as the whole-step goldens (make_*_step.py)
write them in plain torch: gantry's DcganDiscriminator, whose parameter names (main.0, main.2, main.3, ...)
these indices give."""
import torch.nn as nn


def discriminator_main(channels, ndf, batch_norm=True):
    """Three 4x4/2 convolutions (batch norm but on the first, LeakyReLU 0.2) to 4x4, then the 4x4 one to a logit.
    batch_norm=False (WGAN-GP's critic): identities in the batch norms' places, so the indices stay, and biases
    on every convolution (PyTorch's default init)."""
    norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
    bias = not batch_norm
    return nn.Sequential(
        nn.Conv2d(channels, ndf, 4, 2, 1, bias=bias), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=bias), norm(ndf * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=bias), norm(ndf * 4), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=bias))


def dcgan_init(net, linear_std=None):
    """N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales and zero shifts; linear maps N(0, linear_std) where given."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)): nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d): nn.init.normal_(m.weight, 1.0, 0.02); nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None: nn.init.normal_(m.weight, 0.0, linear_std(m))
