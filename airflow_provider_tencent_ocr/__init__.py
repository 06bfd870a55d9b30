"""Apache Airflow provider for Tencent Cloud OCR (the local emulator is a separate distribution)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airflow-provider-tencent-ocr")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
