"""Schedulers made of schedulers, PyTorch's: SequentialLR (one after another, switching at
milestones) and ChainedScheduler (all of them every step); imported into
``optim.lr_scheduler``."""
from __future__ import annotations

from bisect import bisect_right

from .lr_scheduler import LRScheduler
from .schedulers_extra import ReduceLROnPlateau


def _check_members(name, optimizer, schedulers):
    if len(schedulers) < 1:
        raise ValueError(f"{name} expects at least one scheduler, but got no scheduler")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{name}: the scheduler at index {i} should have `optimizer` as "
                            "its attribute")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{name} does not support `ReduceLROnPlateau` (its step needs a "
                             f"metric), but got one at index {i}")
        if s.optimizer is not optimizer:
            raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, "
                             f"but the scheduler {type(s).__name__} at index {i} has another")


def _update_lr(s, epoch):
    """Set ``s`` to ``epoch`` by its closed form (PyTorch's ``_update_lr``): unlike
    ``step(epoch)`` it leaves the step count alone."""
    s.last_epoch = epoch
    closed = getattr(s, "_get_closed_form_lr", None)
    lrs = closed() if closed is not None else s.get_lr()
    for g, lr in zip(s.optimizer.param_groups, lrs):
        g["lr"] = lr
    s._last_lr = [g["lr"] for g in s.optimizer.param_groups]


def _initial_step(s):
    """PyTorch's ``_initial_step``: step count 0, then one step in initial mode."""
    s._step_count = 0
    s._is_initial = True
    try:
        s.step()
    finally:
        s._is_initial = False


class _Composite(LRScheduler):
    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, st in zip(self._schedulers, inner):
            s.load_state_dict(st)


class SequentialLR(_Composite):
    """``schedulers[i]`` drives the lr from ``milestones[i - 1]`` on (each restarted at its
    epoch 0 when its turn comes)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_members("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one more scheduler than milestones, but got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        self._step_count, self._is_initial = 0, False
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        self._undo(self)            # the members' constructors each took a step
        idx = bisect_right(self._milestones, 0)
        _initial_step(self._schedulers[idx])
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo(self, sched):
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            _update_lr(s, 0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()


class ChainedScheduler(_Composite):
    """Every scheduler steps, in order, on each ``step()`` (their effects multiply for the
    multiplicative schedules)."""

    def __init__(self, schedulers, optimizer=None):
        optimizer = optimizer if optimizer is not None else (
            schedulers[0].optimizer if schedulers else None)
        _check_members("ChainedScheduler", optimizer, schedulers)
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]
