"""Data: sources, in-memory data sets, splits, geometry and the device-resident loader."""

# importing both modules registers every built-in data source, whichever striate.data module is imported
from striate.data import file_sources, sources  # noqa: F401
from striate.data.augment import build_augment
from striate.data.dataset import ImageSet
from striate.data.geometry import fit_to_size
from striate.data.idx import read_idx, write_idx
from striate.data.loader import DeviceLoader, channel_stats
from striate.data.preprocess import fit_preprocess, make_normalizer
from striate.data.registry import list_sources, load_source, register_source
from striate.data.sources import infer_source, make_splits
from striate.data.splits import kfold_split, stratified_split
from striate.data.streaming import StreamingLoader

__all__ = [
    "DeviceLoader",
    "ImageSet",
    "StreamingLoader",
    "build_augment",
    "channel_stats",
    "fit_preprocess",
    "fit_to_size",
    "infer_source",
    "kfold_split",
    "list_sources",
    "load_source",
    "make_normalizer",
    "make_splits",
    "read_idx",
    "register_source",
    "stratified_split",
    "write_idx",
]
