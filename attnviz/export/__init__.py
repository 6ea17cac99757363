"""Exports: figures to image bytes (``images``: PNG, SVG, PDF) and results or maps to data bytes
(``data``: NPZ, JSON, CSV). Import the names from here."""

from attnviz.export.data import (
    arrays_to_npz,
    file_stem,
    load_npz,
    matrix_to_csv,
    matrix_to_json,
    result_metadata,
    result_to_json,
    result_to_npz,
    safe_filename,
)
from attnviz.export.images import (
    IMAGE_FORMATS,
    MIME_TYPES,
    UNAVAILABLE_MESSAGE,
    ImageExportUnavailable,
    figure_to_image,
    find_browser,
    image_export_available,
)

__all__ = [
    "IMAGE_FORMATS", "MIME_TYPES", "UNAVAILABLE_MESSAGE", "ImageExportUnavailable", "arrays_to_npz", "figure_to_image",
    "file_stem", "find_browser", "image_export_available", "load_npz", "matrix_to_csv", "matrix_to_json",
    "result_metadata", "result_to_json", "result_to_npz", "safe_filename",
]
