"""The example plugin's own tests, as a third party writes them: medbench's contract checks,
plus what is particular to this method."""

from __future__ import annotations

import pytest
from medbench_lsgan.plugin import LSGANConfig

from medbench.testing import assert_method_passes


def test_lsgan_keeps_medbench_s_contract(tmp_path) -> None:
    # Outputs, the exact budget, determinism on the CPU, and no copies of test images.
    assert_method_passes("lsgan", out=tmp_path)


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="batch_size must lie in"):
        LSGANConfig(batch_size=0)
