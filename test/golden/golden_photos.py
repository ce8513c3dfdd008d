"""Photos of the whole-step goldens (make_*_step.py): random 8-bit levels, the [-1, 1] images the networks
read (level / 127.5 - 1, as gantry's test reads them back), and the levels as the JSON stores them; and the
networks' weights as their .pth files hold them."""
import base64
import torch


def random_photos(shape, generator):
    """Levels [n, c, h, w] drawn uniformly from 0..255, and the images they make."""
    levels = torch.randint(0, 256, shape, generator=generator)
    return levels, levels.float() / 127.5 - 1


def levels_base64(levels):
    """The levels NHWC, one byte each, base64 (test/golden/torch-files.ts goldenPhotos reads them)."""
    return base64.b64encode(levels.permute(0, 2, 3, 1).to(torch.uint8).numpy().tobytes()).decode()


def save_networks(path, **nets):
    """The networks' state dicts in one file, each name prefixed with its network's ("G.main.0.weight"), in the
    legacy format gantry's reader takes (test/golden/torch-files.ts networkState splits them again)."""
    state = {f'{prefix}.{k}': v.detach().clone() for prefix, net in nets.items() if net is not None for k, v in net.state_dict().items()}
    torch.save(state, path, _use_new_zipfile_serialization=False)
