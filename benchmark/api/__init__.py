"""The plugin API: everything a method, task, metric, dataset or reporter plugin may import.

Plugins import from here only, never from medbench's internals, so those can change without
breaking a plugin. The names below are the whole contract.
"""

from medbench.api.anomaly import SCORE_CHUNK, AnomalyInputs, AnomalyMethod
from medbench.api.data import DTYPES, SPLITS, DataInfo, Field, Split, SplitArrays
from medbench.api.dataset import (
    DatasetSpec,
    SplitManifest,
    cached_decode,
    cached_split,
    cached_splits,
    render_split,
)
from medbench.api.errors import (
    ConfigError,
    DataFileError,
    DatasetIntegrityError,
    MedbenchError,
    PluginError,
    UnsupportedError,
)
from medbench.api.features import FeatureExtractor, FeatureSpace, InFeatureSpace
from medbench.api.hookspecs import hookimpl
from medbench.api.image_to_image import (
    TRANSLATE_CHUNK,
    ConditionInputs,
    HounsfieldInputs,
    ImageToImageInputs,
    ImageToImageMethod,
    Scoring,
)
from medbench.api.leaderboard import (
    Aggregate,
    Comparison,
    Leaderboard,
    LeaderboardRow,
    MetricColumn,
    Reporter,
    format_number,
    safe_slug,
)
from medbench.api.lesion import (
    GROUPS,
    INPAINT_CHUNK,
    LesionInputs,
    LesionSynthesisMethod,
    centroids,
    grow,
    lesion_patches,
)
from medbench.api.method import Method, NoConfig
from medbench.api.metric import Metric, MetricInputs, MetricUnavailable, NoOptions, Score
from medbench.api.preprocess import (
    PREPROCESSING_VERSION,
    channels_first,
    pad_to_square,
    rescale_to_uint8,
    resize_array,
    split_patients,
    window,
)
from medbench.api.progress import Bar, Progress, SilentProgress
from medbench.api.readers import read_dicom, read_nifti, read_picture, read_slices
from medbench.api.reporting import (
    Cells,
    agreement_cells,
    escape_latex,
    escape_markdown,
    header_lines,
    html_page,
    html_section,
    html_table,
    leaderboard_cells,
    legend,
    per_class_cells,
)
from medbench.api.seeding import derived_generator
from medbench.api.segmentation import SEGMENT_CHUNK, SegmentationInputs, SegmentationMethod
from medbench.api.sources import DataFile, FileDataset, files_fingerprint
from medbench.api.storage import atomic_write
from medbench.api.synthesis import (
    SAMPLE_CHUNK,
    DistributionInputs,
    GeneratedImages,
    ImagePool,
    SynthesisInputs,
    SynthesisMethod,
)
from medbench.api.task import EvalContext, EvalSplits, FeatureStore, Panel, Predictions, Task
from medbench.api.training import Diverged, TrainContext
from medbench.api.weights import PinnedWeights, file_sha256

__all__ = [
    "cached_decode",
    "files_fingerprint",
    "split_patients",
    "pad_to_square",
    "read_slices",
    "read_picture",
    "read_nifti",
    "read_dicom",
    "DTYPES",
    "window",
    "resize_array",
    "rescale_to_uint8",
    "channels_first",
    "PREPROCESSING_VERSION",
    "FileDataset",
    "DataFileError",
    "DataFile",
    "Aggregate",
    "Comparison",
    "Leaderboard",
    "LeaderboardRow",
    "MetricColumn",
    "Reporter",
    "format_number",
    "SAMPLE_CHUNK",
    "INPAINT_CHUNK",
    "GROUPS",
    "LesionInputs",
    "LesionSynthesisMethod",
    "centroids",
    "grow",
    "lesion_patches",
    "DistributionInputs",
    "SCORE_CHUNK",
    "SEGMENT_CHUNK",
    "SPLITS",
    "TRANSLATE_CHUNK",
    "AnomalyInputs",
    "AnomalyMethod",
    "Bar",
    "Cells",
    "ConditionInputs",
    "ConfigError",
    "DataInfo",
    "DatasetIntegrityError",
    "DatasetSpec",
    "Diverged",
    "EvalContext",
    "EvalSplits",
    "FeatureExtractor",
    "FeatureSpace",
    "InFeatureSpace",
    "file_sha256",
    "FeatureStore",
    "GeneratedImages",
    "HounsfieldInputs",
    "ImagePool",
    "ImageToImageInputs",
    "ImageToImageMethod",
    "Field",
    "MedbenchError",
    "Method",
    "Metric",
    "MetricInputs",
    "MetricUnavailable",
    "NoConfig",
    "NoOptions",
    "PluginError",
    "Panel",
    "PinnedWeights",
    "Predictions",
    "Progress",
    "Score",
    "Scoring",
    "SegmentationInputs",
    "SegmentationMethod",
    "SilentProgress",
    "Split",
    "SplitArrays",
    "SplitManifest",
    "SynthesisInputs",
    "SynthesisMethod",
    "Task",
    "TrainContext",
    "UnsupportedError",
    "agreement_cells",
    "atomic_write",
    "cached_split",
    "cached_splits",
    "derived_generator",
    "escape_latex",
    "escape_markdown",
    "html_page",
    "html_section",
    "html_table",
    "leaderboard_cells",
    "legend", "header_lines", "per_class_cells",
    "hookimpl",
    "render_split",
    "safe_slug",
]
