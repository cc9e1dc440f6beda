"""The tensor-model-parallel state, with Megatron-LM's names: one TP world size for
the models built after it is set (the module's `kb.world_size`)."""

_tensor_model_parallel_world_size = None


def initialize_model_parallel(tensor_model_parallel_size=1):
    """Sets the TP world size, as Megatron-LM's function of the same name does."""
    set_tensor_model_parallel_world_size(tensor_model_parallel_size)


def set_tensor_model_parallel_world_size(world_size):
    if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
        raise ValueError(f"the TP world size must be a positive integer, got {world_size!r}")
    global _tensor_model_parallel_world_size
    _tensor_model_parallel_world_size = world_size


def get_tensor_model_parallel_world_size():
    """The TP world size; 1 until one is set."""
    return _tensor_model_parallel_world_size or 1


def destroy_model_parallel():
    global _tensor_model_parallel_world_size
    _tensor_model_parallel_world_size = None
