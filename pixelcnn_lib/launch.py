"""`python -m pixelcnn_lib.launch [TORCHRUN OPTIONS] train ...`: torchrun, with a clean Ctrl-C.

    python -m pixelcnn_lib.launch --nproc_per_node=4 train --dataset cifar10 --out runs/c10

Everything before the command word (train, sample, evaluate) goes to torchrun (default
`--standalone`, one node), everything from it on to `pixelcnn`. Plain torchrun, on Ctrl-C, prints
a traceback of its own and exits with status 1 although the workers stopped cleanly and saved;
this launcher runs the same torchrun in-process and turns that into one line and status 130.
"""
import sys

from .options import INTERRUPTED

COMMANDS = ("train", "sample", "evaluate")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    at = next((k for k, word in enumerate(argv) if word in COMMANDS), None)
    if at is None:
        print("usage: python -m pixelcnn_lib.launch [torchrun options] train|sample|evaluate ...",
              file=sys.stderr)
        return 2
    launcher, command = argv[:at], argv[at:]
    if not any(a.startswith(("--nnodes", "--rdzv", "--standalone")) for a in launcher):
        launcher.insert(0, "--standalone")
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main as torchrun
    try:
        torchrun([*launcher, "-m", "pixelcnn_lib", *command])
    except SignalException as e:
        print(f"pixelcnn {command[0]}: interrupted (signal {e.sigval}); the workers stopped and "
              "saved (see above).", file=sys.stderr)
        return INTERRUPTED
    except Exception as e:  # a worker failed: torchrun has printed which and why
        print(f"pixelcnn {command[0]}: {type(e).__name__}: a worker failed (see above).",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
