"""gantry's fixed caption encoder in PyTorch (src/text/caption-encoder.ts at its defaults), for the text
families' peers (bench/gan_cls_torch.py, bench/dfgan_torch.py): a word table of 5,000 + 2 rows x 64, two
width-3 convolutions of 256 with ReLU, the max over the words, Linear to the sentence size, unit rows times
sqrt(size). The peers run it forward on random word ids each step, without gradients, as gantry does;
report_text_generator is their --generate."""
import torch, torch.nn as nn, torch.nn.functional as F
from peer_timing import count, report_generate


class CaptionEncoder(nn.Module):
    def __init__(self, embed, table=5002, word=64, hidden=256):
        super().__init__()
        self.embed = embed
        self.words = nn.Embedding(table, word, padding_idx=0)
        self.c1, self.c2 = nn.Conv1d(word, hidden, 3, 1, 1), nn.Conv1d(hidden, hidden, 3, 1, 1)
        self.out = nn.Linear(hidden, embed)

    def forward(self, ids):
        h = F.relu(self.c2(F.relu(self.c1(self.words(ids).transpose(1, 2)))))
        return F.normalize(self.out(h.max(2).values), dim=1) * self.embed ** 0.5

    def random_sentences(self, batch, device, words=32):
        """Sentence vectors of `batch` captions of random word ids, without gradients (a step's, or a generator's condition)."""
        with torch.no_grad(): return self(torch.randint(1, self.words.num_embeddings, (batch, words), device=device))


def report_text_generator(g, text, nz, a, device, batch, workload):
    """--generate of the text peers: G in evaluation mode on noise and sentence vectors of random captions
    (encoded once, as gantry's text condition holds them), timed as gantry's generator is."""
    g.eval()
    sentences, z = text.random_sentences(batch, device), torch.randn(batch, nz, device=device)
    report_generate(lambda: g(z, sentences), device, a.warmup, a.steps, batch, workload, params_G=count(g))
