"""Apache Airflow provider for Tencent Cloud OCR, with a local emulator of the API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airflow-provider-tencent-ocr")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
