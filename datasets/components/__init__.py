"""What more than one built-in dataset is made from, so that no dataset imports another
(pyproject.toml's independence contract): the abdominal phantom's renderer (phantom,
lowdose-ct), the retina's vessel trees and fundus photographs (retina, retina-lesions), and
the Medical Segmentation Decathlon's reader (msd-liver, and lowdose-ct on real CT).

Like `medbench.plugins.components`: provided to third-party datasets, not frozen."""
