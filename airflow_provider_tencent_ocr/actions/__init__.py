"""One module per OCR action: its request, response fields, warn codes and row mapping."""
