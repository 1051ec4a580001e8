"""striate.export: ONNX / TorchScript files with parity checks, and the Predictor.

onnx and onnxruntime are imported only inside the functions that use them.

>>> from striate.export import Predictor, export_run          # doctest: +SKIP
"""

from striate.export.exporters import FORMATS, check_parity, export_model, run_exported
from striate.export.predictor import Predictor
from striate.export.run_export import export_run, sidecar_path

__all__ = ["FORMATS", "Predictor", "check_parity", "export_model", "export_run", "run_exported", "sidecar_path"]
