"""A greyscale GatedPixelCNN as the browser runs it: a spec and one float32 array (gated.js).

`export(model)` is deterministic: the same model gives the same bytes. Masks are applied before
export (the browser multiplies by nothing), so the browser computes exactly the model's
function; tests/test_gated_js.py holds its logits equal to Python's.
"""
import numpy as np
import torch

from .models import GatedPixelCNN


def exported_tensors(model):
    """Name -> float32 array, in the order gated.js reads them (masked weights, as used)."""
    if not isinstance(model, GatedPixelCNN) or model.in_channels != 1:
        raise TypeError("the browser sampler runs greyscale GatedPixelCNNs only, got "
                        f"{type(model).__name__} with {model.in_channels} channel(s).")
    cfg = model.config
    if not (cfg["gated"] and cfg["two_stacks"]):
        raise TypeError("the browser sampler runs the gated two-stack model only.")
    out = {}
    with torch.no_grad():
        for b, block in enumerate([model.causal, *model.blocks]):
            for name in ("v_conv", "h_conv", "v_to_h", "h_out", "skip"):
                conv = getattr(block, name)
                if conv is None:
                    continue
                weight = conv.masked_weight() if hasattr(conv, "masked_weight") else conv.weight
                out[f"b{b}.{name}.weight"] = weight
                out[f"b{b}.{name}.bias"] = conv.bias
            for name in ("label_h", "label_v"):
                table = getattr(block, name)
                if table is not None:
                    out[f"b{b}.{name}"] = table.weight
        for k, index in (("head1", 1), ("head2", 3)):
            out[f"{k}.weight"] = model.head[index].masked_weight()
            out[f"{k}.bias"] = model.head[index].bias
        return {k: v.detach().cpu().float().numpy() for k, v in out.items()}


def export(model):
    """(spec dict, float32 little-endian bytes) of `model` for gated.js's buildModel."""
    tensors = exported_tensors(model)
    cfg, offset, spec = model.config, 0, {}
    for name, array in tensors.items():
        spec[name] = {"offset": offset, "shape": list(array.shape)}
        offset += array.size
    blob = np.concatenate([a.ravel() for a in tensors.values()]).astype("<f4").tobytes()
    return {"format": "pixelcnn_lib/gated-js/1", "hidden": cfg["hidden_channels"],
            "skip": cfg["skip_channels"], "head": cfg["head_channels"],
            "levels": cfg["color_levels"], "kernelSize": cfg["kernel_size"],
            "causalKernelSize": cfg["causal_kernel_size"], "dilations": list(model.dilations),
            "nClasses": cfg["n_classes"] or 0, "tensors": spec}, blob


def read_export(spec, blob):
    """The arrays back from an export: what the browser reads, for tests."""
    values = np.frombuffer(blob, dtype="<f4")
    return {name: values[t["offset"]: t["offset"] + int(np.prod(t["shape"]))].reshape(t["shape"])
            for name, t in spec["tensors"].items()}
