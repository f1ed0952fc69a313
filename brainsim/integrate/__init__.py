"""Stepping: exponential Euler, diffrax solvers step-wise, adaptive solves with exact spike times."""

from .adaptive import AdaptiveStepper as AdaptiveStepper
from .base import AbstractStepper as AbstractStepper
from .diffrax_stepper import DiffraxStepper as DiffraxStepper, as_stepper as as_stepper
from .exponential_euler import ExponentialEuler as ExponentialEuler
from .spike_times import spike_times as spike_times
