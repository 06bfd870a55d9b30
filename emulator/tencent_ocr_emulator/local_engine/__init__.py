"""The ``local`` recogniser: a real offline OCR engine (rapidocr + onnxruntime) for the emulator.

Importing this package is cheap; rapidocr, onnxruntime and OpenCV load only in the worker
processes, and a missing extra fails with ``pip install 'airflow-provider-tencent-ocr[local]'``.
"""

from tencent_ocr_emulator.local_engine.engine import LocalRecogniser

__all__ = ["LocalRecogniser"]
