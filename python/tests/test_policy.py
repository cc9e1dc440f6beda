"""DPPolicy: its arguments, its #kb.dp text, and the shapes it can place."""
import pytest

import kb
from kb.parallel_state import initialize_model_parallel


def test_the_seed_policy_is_the_default():
    assert kb.DPPolicy() == kb.DPPolicy(cube="replicate", pe="replicate", num_cubes=1,
                                        num_pes=1)
    assert kb.DPPolicy().to_mlir() == (
        "#kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>")


@pytest.mark.parametrize("kwargs, text", [
    (dict(cube="shard", pe="shard", num_cubes=4, num_pes=8),
     "#kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>"),
    (dict(cube="shard", cube_dim=0, num_cubes=2),
     "#kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>"),
    (dict(pe="shard", pe_dim=1, num_cubes=4, num_pes=8),
     "#kb.dp<cube = replicate, pe = shard(1), num_cubes = 4, num_pes = 8>"),
    (dict(cube="replicate", cube_dim=0, num_cubes=4),  # the dim of a replicate is moot
     "#kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>"),
])
def test_emits_the_dialects_syntax(kwargs, text):
    assert kb.DPPolicy(**kwargs).to_mlir() == text


@pytest.mark.parametrize("kwargs, message", [
    (dict(cube="split"), "DPPolicy cube must be one of replicate, shard, column_wise, row_wise, got 'split'"),
    (dict(pe="shard(0)"), "DPPolicy pe must be one of replicate, shard, column_wise, row_wise"),
    (dict(num_cubes=0), "DPPolicy num_cubes must be None (all) or a positive integer, got 0"),
    (dict(num_pes=-8), "DPPolicy num_pes must be None (all) or a positive integer, got -8"),
    (dict(num_pes=2.0), "DPPolicy num_pes must be None (all) or a positive integer, got 2.0"),
    (dict(num_cubes=True), "DPPolicy num_cubes must be None (all) or a positive integer, got True"),
    (dict(cube_dim=-1), "DPPolicy cube_dim must be a non-negative integer, got -1"),
])
def test_bad_arguments_are_value_errors(kwargs, message):
    with pytest.raises(ValueError) as e:
        kb.DPPolicy(**kwargs)
    assert message in str(e.value)


def test_check_names_both_numbers():
    policy = kb.DPPolicy(cube="shard", pe="shard", num_cubes=4, num_pes=8)
    policy.check((16, 8))
    with pytest.raises(ValueError, match=r"cube shard of dimension 1 \(size 10\) does not "
                                         r"divide by num_cubes \(4\)"):
        policy.check((16, 10))
    with pytest.raises(ValueError, match=r"pe shard of dimension 0 \(size 12\) does not "
                                         r"divide by num_pes \(8\)"):
        policy.check((12, 8))
    with pytest.raises(ValueError, match="cube shards dimension 1 of a rank-1 tensor"):
        policy.check((16,))


def test_a_layer_checks_its_policy_against_the_rank_local_weight():
    """kb places each rank's slice, so the policy must divide the slice, not just the
    global weight: out 64 over W = 4 leaves 16 columns, which 32 cubes cannot split."""
    initialize_model_parallel(tensor_model_parallel_size=4)
    too_fine = kb.DPPolicy(cube="shard", cube_dim=1, num_cubes=32)
    with pytest.raises(ValueError) as e:
        kb.ColumnParallelLinear(16, 64, dp=too_fine)
    assert str(e.value) == ("ColumnParallelLinear(16, 64) weight slice (16, 16): DPPolicy "
                            "cube shard of dimension 1 (size 16) does not divide by "
                            "num_cubes (32)")
    kb.RowParallelLinear(64, 32, dp=too_fine)  # its slice is (16, 32)
    layer = kb.ColumnParallelLinear(16, 64)
    with pytest.raises(ValueError, match="weight slice"):
        layer.dp = too_fine  # assigning later is checked too
    assert layer.dp is None


def test_an_input_policy_is_checked_against_its_shape():
    with pytest.raises(ValueError, match=r"input 'x' \(8, 6\): DPPolicy cube shard"):
        kb.Program("p").input("x", (8, 6), dp=kb.DPPolicy(cube="shard", num_cubes=4))
