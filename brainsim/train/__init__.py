"""Training: spiking layers stepped over sequences, checkpointed BPTT, an optax `fit` loop,
readouts, losses, data encoders and synthetic tasks (see docs/training.md).

Two ways in, one set of models: a whole `Network` under `jax.grad` (`bs.run`), or the layers
here, which step with the same neuron, synapse and surrogate code.
"""

from .bptt import backward_temp_bytes as backward_temp_bytes, checkpointed_scan as checkpointed_scan
from .cells import ELMLayer as ELMLayer, TwoCompartmentLayer as TwoCompartmentLayer
from .cells_recurrent import (
    EGRU as EGRU,
    LMU as LMU,
    DiscreteTimeUpdate as DiscreteTimeUpdate,
    legendre_delay_system as legendre_delay_system,
    shifted_legendre as shifted_legendre,
    zero_order_hold as zero_order_hold,
)
from .data import (
    EventSamples as EventSamples,
    NMNISTEvents as NMNISTEvents,
    digits_dataset as digits_dataset,
    latency_spikes as latency_spikes,
    poisson_spikes as poisson_spikes,
    read_nmnist as read_nmnist,
    read_nmnist_dir as read_nmnist_dir,
    read_shd as read_shd,
)
from .delays import DelayedSpikingLayer as DelayedSpikingLayer, LearnableDelays as LearnableDelays
from .eprop import (
    eprop_grads as eprop_grads,
    eprop_value_and_grads as eprop_value_and_grads,
    make_eprop_step as make_eprop_step,
    stepwise_loss as stepwise_loss,
)
from .layers import (
    AbstractLayer as AbstractLayer,
    LeakyReadout as LeakyReadout,
    RecurrentSpikingLayer as RecurrentSpikingLayer,
    Sequential as Sequential,
    SpikingLayer as SpikingLayer,
    rest_state as rest_state,
    stack as stack,
)
from .loop import (
    EarlyStopping as EarlyStopping,
    fit as fit,
    make_eval as make_eval,
    make_step as make_step,
    minibatches as minibatches,
)
from .losses import (
    activity_regularizer as activity_regularizer,
    cross_entropy_membrane as cross_entropy_membrane,
    cross_entropy_spike_counts as cross_entropy_spike_counts,
    exponential_filter as exponential_filter,
    rate_regularizer as rate_regularizer,
    synapse_hop_regularizer as synapse_hop_regularizer,
    van_rossum_loss as van_rossum_loss,
)
from .readouts import (
    LinearReadout as LinearReadout,
    LogisticReadout as LogisticReadout,
    fit_logistic as fit_logistic,
    force_train as force_train,
    ridge_readout as ridge_readout,
    rls_update as rls_update,
)
from .sltt import (
    make_sltt_step as make_sltt_step,
    sltt_grads as sltt_grads,
    sltt_value_and_grads as sltt_value_and_grads,
)
from .tasks import (
    adding_task as adding_task,
    cue_accumulation as cue_accumulation,
    delayed_xor as delayed_xor,
)
from .text import (
    CharLanguageModel as CharLanguageModel,
    char_lm_loss as char_lm_loss,
    char_sequences as char_sequences,
    encode_text as encode_text,
    shakespeare_text as shakespeare_text,
    unigram_entropy_bits as unigram_entropy_bits,
)
