"""``tinygrad_cnn.data`` (also importable as ``tinygrad_cnn.utils.data``): datasets,
samplers and the DataLoader, with torch.utils.data's names."""
from .dataset import (
                      ConcatDataset,
                      Dataset,
                      IterableDataset,
                      Subset,
                      TensorDataset,
                      random_split,
)
from .datasets import MNIST, load_digits, read_idx
from .loader import DataLoader, default_collate, default_convert, get_worker_info
from .sampler import (
                      BatchSampler,
                      DistributedSampler,
                      RandomSampler,
                      Sampler,
                      SequentialSampler,
                      SubsetRandomSampler,
                      WeightedRandomSampler,
)

__all__ = ["MNIST", "BatchSampler", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
           "get_worker_info", "load_digits", "random_split", "read_idx"]
