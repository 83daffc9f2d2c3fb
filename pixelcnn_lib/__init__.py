"""pixelcnn_lib: the code the PixelCNN book teaches, small enough to read in one sitting."""
from .models import GatedPixelCNN, PixelCNN, count_parameters
from .receptive import analytic_field, blind_spot, dependency_map, influence_map
from .sampling import sample

__all__ = ["PixelCNN", "GatedPixelCNN", "count_parameters", "sample", "dependency_map",
           "analytic_field", "blind_spot", "influence_map"]
