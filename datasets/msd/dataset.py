"""msd-liver: the Medical Segmentation Decathlon's liver CT as a dataset.

Its reader is shared with lowdose-msd-liver, so it lives in
`medbench.datasets.components.decathlon`; the registered class is defined here, beside this
folder's CARD.md, which is its card.
"""

from __future__ import annotations

from medbench.datasets.components.decathlon import DecathlonLiver as LiverReader


class DecathlonLiver(LiverReader):
    __doc__ = LiverReader.__doc__
