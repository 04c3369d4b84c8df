import torch
import torch.nn.functional as F

from stbench.model.matching import grid_keypoints, match_outputs, refine_positions


def _dense(height: int, width: int, dim: int = 16, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, dim, height // 2, width // 2, generator=generator)
    smooth = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return F.normalize(smooth[0], dim=0)


def test_refinement_moves_a_match_toward_the_sub_cell_position_of_its_descriptor():
    dense = _dense(24, 32)
    stride = 2
    # the descriptor of image 0 is the blend of two neighbouring cells of image 1
    # (x 10 and 11, row 7): its true position lies between their centres
    blend = F.normalize(0.5 * dense[:, 7, 10] + 0.5 * dense[:, 7, 11], dim=0)
    grid = torch.tensor([[(10 + 0.5) * stride - 0.5, (7 + 0.5) * stride - 0.5]])
    refined = refine_positions(blend[None], dense, grid, stride, radius=1, temperature=0.05)
    centre_10, centre_11 = (10 + 0.5) * stride - 0.5, (11 + 0.5) * stride - 0.5
    assert centre_10 < refined[0, 0] < centre_11  # moved off the grid, between the two cells
    assert abs(refined[0, 1] - grid[0, 1]) < 0.5 * stride
    # radius 0 keeps the grid; a descriptor equal to a cell stays near that cell
    assert torch.equal(refine_positions(blend[None], dense, grid, stride, radius=0), grid)
    exact = refine_positions(dense[:, 7, 10][None], dense, grid, stride, 1, temperature=0.01)
    assert torch.allclose(exact, grid, atol=0.05)


def test_match_outputs_refines_only_matched_keypoints_of_image_one():
    dense0, dense1 = _dense(16, 16, seed=1), _dense(16, 16, seed=1)
    score = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    out = {
        "descriptors0": dense0[None],
        "descriptors1": dense1[None],
        "distinctiveness0": score,
        "distinctiveness1": score,
    }
    k0, k1, matches, _ = match_outputs(out, 2, 64, refine_radius=0)
    assert len(matches) > 0 and torch.equal(k0, k1)  # identical images: identity matches
    assert torch.equal(matches[:, 0], matches[:, 1])
    r0, r1, refined_matches, _ = match_outputs(out, 2, 64, refine_radius=1, temperature=0.1)
    assert torch.equal(refined_matches, matches) and torch.equal(r0, k0)
    assert (r1 - k1).abs().max() < 2.0  # within one cell of the grid position
    grid = grid_keypoints(16, 16, 2)
    assert set(map(tuple, k1.tolist())) <= set(map(tuple, grid.tolist()))
