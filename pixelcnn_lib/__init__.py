"""pixelcnn_lib: the code the PixelCNN book teaches, small enough to read in one sitting."""
from .data import load_dataset, quantize
from .ema import EMA
from .models import FullyVisibleModel, GatedPixelCNN, PixelCNN, count_parameters
from .receptive import analytic_field, blind_spot, dependency_map, influence_map
from .sampling import sample
from .training import by_profile, describe_run, evaluate, load_model, save_checkpoint, train

__all__ = ["PixelCNN", "GatedPixelCNN", "FullyVisibleModel", "count_parameters", "sample",
           "dependency_map", "analytic_field", "blind_spot", "influence_map", "load_dataset", "quantize",
           "train", "evaluate", "by_profile", "describe_run", "save_checkpoint", "load_model", "EMA"]
