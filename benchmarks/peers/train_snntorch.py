"""The training step of `benchmarks/train_step.py` in snnTorch 1.0 (PyTorch, CPU), written the way
snnTorch's tutorials write it: `nn.Linear` layers and `snn.RLeaky` / `snn.Leaky` neurons called
step by step in a Python loop over time, `loss.backward()`, `torch.optim.Adam`.

    benchmarks/peers/.venv-snntorch/bin/python benchmarks/peers/train_snntorch.py --steps 100 500

700 Poisson inputs (5% per step) -> 256 recurrent LIF (beta = exp(-dt / 20 ms), threshold 1,
fast-sigmoid surrogate) -> 20 leaky readouts (no reset), batch 64, cross-entropy on the
time-averaged readout, Adam (lr 1e-3). Prints one JSON line per T: `step_s` (median wall time of
one step: forward, backward, Adam), `compile_s` (the first step), `peak_rss_mb`, versions.
"""

import math
import time

import snntorch as snn
import torch
from _train_report import main, step_record
from snntorch import surrogate
from torch import nn

N_IN, N_HIDDEN, N_OUT, BATCH, INPUT_P = 700, 256, 20, 64, 0.05
BETA = math.exp(-1.0 / 20.0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(N_IN, N_HIDDEN)
        self.lif1 = snn.RLeaky(beta=BETA, linear_features=N_HIDDEN, spike_grad=surrogate.fast_sigmoid())
        self.fc2 = nn.Linear(N_HIDDEN, N_OUT)
        self.li = snn.Leaky(beta=BETA, reset_mechanism="none")

    def forward(self, x):  # x: (T, batch, n_in)
        spk1, mem1 = self.lif1.init_rleaky()
        mem2 = self.li.init_leaky()
        readout, spikes = [], []
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[step]), spk1, mem1)
            _, mem2 = self.li(self.fc2(spk1), mem2)
            readout.append(mem2)
            spikes.append(spk1)
        return torch.stack(readout), torch.stack(spikes)


def measure(n_steps: int, repeats: int) -> dict:
    torch.manual_seed(0)
    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = (torch.rand(n_steps, BATCH, N_IN) < INPUT_P).float()
    y = torch.randint(0, N_OUT, (BATCH,))

    def step():
        optimizer.zero_grad()
        readout, spikes = net(x)
        loss = nn.functional.cross_entropy(readout.mean(0), y)
        loss.backward()
        optimizer.step()
        return loss, spikes

    start = time.perf_counter()
    _, spikes = step()
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, _ = step()
        times.append(time.perf_counter() - start)
    return step_record(
        "snntorch", n_steps, BATCH, times, compile_s, float(spikes.detach().mean()), float(loss),
        snntorch=snn.__version__, torch=torch.__version__, threads=torch.get_num_threads(),
    )


if __name__ == "__main__":
    main(measure, __doc__.splitlines()[0])
