"""``tinygrad_cnn.data``: datasets and the DataLoader."""
from .datasets import MNIST, load_digits, read_idx
from .loader import DataLoader, Dataset, TensorDataset

__all__ = ["Dataset", "TensorDataset", "DataLoader", "load_digits", "MNIST", "read_idx"]
