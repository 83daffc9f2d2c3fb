"""What every benchmark records beside its numbers, and how it saves them (JSON the book glues)."""
import datetime as dt
import json
import sys
from pathlib import Path

import torch

from pixelcnn_lib.training import device_name


def provenance(device, script, argv=None) -> dict:
    """Hardware, PyTorch, threads, time and the exact command, so a number can be traced and rerun."""
    args = sys.argv[1:] if argv is None else argv
    return dict(hardware=device_name(device), device=device.type, torch=torch.__version__,
                threads=torch.get_num_threads(),
                date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                command=" ".join(["python", f"benchmarks/{Path(script).name}", *args]))


def write_json(result: dict, out) -> None:
    """Write `result` to `out` (nothing when out is None), creating its folder."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
