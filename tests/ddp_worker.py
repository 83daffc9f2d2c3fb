"""Run by tests/test_ddp.py under torchrun: the CLI's `train` command (exactly what
`torchrun -m pixelcnn_lib train ...` runs), then every rank saves the weights it ended with.

    torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR train ...
"""
import os
import sys

import torch

from pixelcnn_lib import cli, training

ended_with = {}
real_train = training.train


def train_and_keep_weights(model, *args, **kwargs):
    history = real_train(model, *args, **kwargs)
    ended_with.update({k: v.detach().clone() for k, v in model.state_dict().items()})
    return history


training.train = train_and_keep_weights  # the CLI imports training.train when it runs

if __name__ == "__main__":
    status = cli.main(sys.argv[2:])
    torch.save(ended_with, os.path.join(sys.argv[1], f"rank{os.environ['RANK']}.pt"))
    sys.exit(status)
