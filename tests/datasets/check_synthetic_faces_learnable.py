"""Independent check that the synthetic faces are learnable (not a ctest test: it needs PyTorch).

Writes nothing; reads a CSV made by synthetic_faces::write_csv with 20% PublicTest, e.g.
    (C++) minidnn::synthetic_faces::write_csv("/tmp/synth.csv", 10000, 7, 0.2, 0.0);
    /usr/bin/python3 tests/datasets/check_synthetic_faces_learnable.py /tmp/synth.csv
and trains a small 3-conv CNN with Adam on one thread, printing validation accuracy per epoch,
plus the accuracy of a mean-brightness-only classifier (should be near chance, 1/7).
"""
import numpy as np, torch, torch.nn as nn, time, sys
torch.set_num_threads(1); torch.manual_seed(0)
rows = [l.rstrip('\n').split(',') for l in open(sys.argv[1] if len(sys.argv) > 1 else '/tmp/synth.csv').readlines()[1:]]
X = np.array([np.array(r[1].split(), dtype=np.float32) for r in rows]).reshape(-1, 1, 48, 48) / 255.0
y = np.array([int(r[0]) for r in rows]); u = np.array([r[2] for r in rows])
Xtr, ytr = torch.tensor(X[u == 'Training']), torch.tensor(y[u == 'Training'])
Xte, yte = torch.tensor(X[u == 'PublicTest']), torch.tensor(y[u == 'PublicTest'])
# brightness-only baseline: nearest class mean of the image mean
m = Xtr.mean((1, 2, 3)); cm = torch.stack([m[ytr == c].mean() for c in range(7)])
pred = (Xte.mean((1, 2, 3))[:, None] - cm[None]).abs().argmin(1)
print('mean-brightness baseline acc', (pred == yte).float().mean().item())
net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(32 * 36, 64), nn.ReLU(), nn.Linear(64, 7))
opt = torch.optim.Adam(net.parameters(), 1e-3); t0 = time.time()
for epoch in range(20):
    perm = torch.randperm(len(ytr))
    net.train()
    for i in range(0, len(ytr), 64):
        idx = perm[i:i + 64]; opt.zero_grad()
        loss = nn.functional.cross_entropy(net(Xtr[idx]), ytr[idx]); loss.backward(); opt.step()
    net.eval()
    with torch.no_grad(): acc = (net(Xte).argmax(1) == yte).float().mean().item()
    print(f'epoch {epoch+1} loss {loss.item():.3f} val acc {acc:.3f} t {time.time()-t0:.0f}s', flush=True)
    if time.time() - t0 > 220 or acc > 0.97: break
