"""Data: sources, in-memory data sets, splits, geometry and the device-resident loader."""

from striate.data.dataset import ImageSet
from striate.data.geometry import fit_to_size
from striate.data.idx import read_idx, write_idx
from striate.data.loader import DeviceLoader, channel_stats
from striate.data.sources import list_sources, load_source, make_splits, register_source
from striate.data.splits import stratified_split

__all__ = [
    "DeviceLoader",
    "ImageSet",
    "channel_stats",
    "fit_to_size",
    "list_sources",
    "load_source",
    "make_splits",
    "read_idx",
    "register_source",
    "stratified_split",
    "write_idx",
]
