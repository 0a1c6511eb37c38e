"""The MNI152 2009a template and its grey/white-matter maps, read from the copy that ships
inside nilearn, so the anatomy is real and the build needs no network."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medbench.api import UnsupportedError

FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}


@dataclass(frozen=True)
class Template:
    """Volumes on the template's 1 mm grid, (x, y, z) = (left-right, posterior-anterior,
    inferior-superior), as float32 in [0, 1]."""

    brain: np.ndarray  # 1 inside the (skull-stripped) template's head, 0 outside
    gm: np.ndarray  # grey-matter probability
    wm: np.ndarray  # white-matter probability


def template_folder() -> Path:
    """Where nilearn keeps its packaged data; found without importing nilearn."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise UnsupportedError("Dataset 'brain-mrct' is built from the MNI152 template that "
                               "ships with nilearn, which is not installed: pip install nilearn.")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def load_template() -> Template:
    try:
        import nibabel
    except ImportError:
        raise UnsupportedError("Dataset 'brain-mrct' reads the MNI152 template with nibabel, "
                               "which is not installed: pip install nilearn.") from None
    folder = template_folder()
    volumes = {}
    for name, filename in FILES.items():
        path = folder / filename
        if not path.is_file():
            raise UnsupportedError(f"Dataset 'brain-mrct' needs {filename}, which this nilearn "
                                   f"({folder}) lacks; reinstall nilearn.")
        volumes[name] = np.asarray(nibabel.load(path).dataobj, dtype=np.float32) / 255.0
    return Template(brain=(volumes["t1"] > 0).astype(np.float32), gm=volumes["gm"],
                    wm=volumes["wm"])
