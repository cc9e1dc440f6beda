"""kernbench's TP state, with Megatron-LM's names. The world size is kb's own
(kb.parallel_state), so kb's layers and the seed's see the same one; the rank is the
SIP the recorder's `torch.ahbm.set_device(rank)` selected."""
from kb.parallel_state import (destroy_model_parallel as _destroy_kb,
                               get_tensor_model_parallel_world_size,
                               initialize_model_parallel,
                               set_tensor_model_parallel_world_size)

__all__ = ["initialize_model_parallel", "get_tensor_model_parallel_world_size",
           "set_tensor_model_parallel_world_size", "get_tensor_model_parallel_rank",
           "set_tensor_model_parallel_rank", "destroy_model_parallel"]

_rank = 0


def get_tensor_model_parallel_rank():
    """The rank whose code is running: the SIP last selected by set_device."""
    return _rank


def set_tensor_model_parallel_rank(rank):
    world = get_tensor_model_parallel_world_size()
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world:
        raise ValueError(f"the TP rank must be an integer in [0, {world}), got {rank!r}")
    global _rank
    _rank = rank


def destroy_model_parallel():
    global _rank
    _rank = 0
    _destroy_kb()
