"""mlplatform: an ML pipeline platform on Metaflow.

One YAML spec describes a pipeline; the same spec runs locally or on AWS Batch.
"""

from mlplatform.errors import PlatformError

__version__ = "0.1.0"

__all__ = ["PlatformError", "__version__"]
