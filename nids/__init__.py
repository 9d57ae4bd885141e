"""nids: companion package of the nids-workbook (deep-learning network intrusion detection).

Importing this package is cheap: it reads no data, seeds no RNG and never imports TensorFlow.
Deep-model code imports TensorFlow lazily, only when a deep model is built, trained or loaded.
"""

from nids.errors import NidsError

__version__ = "0.1.0"
__all__ = ["NidsError", "__version__"]
