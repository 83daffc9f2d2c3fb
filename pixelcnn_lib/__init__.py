"""pixelcnn_lib: the code the PixelCNN book teaches, small enough to read in one sitting."""
from .models import PixelCNN, GatedPixelCNN, count_parameters

__all__ = ["PixelCNN", "GatedPixelCNN", "count_parameters"]
