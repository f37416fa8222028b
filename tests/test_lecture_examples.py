"""The worked examples of the lecture notes (../shared/seeds), with the expected numbers
worked out by hand here, not by another library.

Notation of the notes: a 3×3 input x1..x9 and a 2×2 filter w1..w4 (row-major), output
z1..z4 (row-major); the loss gradient arrives as dz.
"""
import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F

X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]   # x1..x9
W = [[1.0, 0.0], [-1.0, 2.0]]                             # w1=1, w2=0, w3=-1, w4=2
DZ = [[1.0, 2.0], [3.0, 4.0]]                             # dz1..dz4


def _conv_example():
    x = tg.tensor([[X]], dtype=tg.float64, requires_grad=True)
    w = tg.tensor([[W]], dtype=tg.float64, requires_grad=True)
    z = F.conv2d(x, w)
    z.backward(tg.tensor([[DZ]], dtype=tg.float64))
    return z, x.grad, w.grad


def test_forward_is_cross_correlation():
    # z1 = x1 w1 + x2 w2 + x4 w3 + x5 w4 = 1 + 0 - 4 + 10
    z, _, _ = _conv_example()
    assert z.tolist() == [[[[7.0, 9.0], [13.0, 15.0]]]]


def test_input_gradient_is_a_full_convolution_with_the_flipped_filter():
    # dx1 = w1 dz1; dx2 = w2 dz1 + w1 dz2; dx3 = w2 dz2; dx4 = w3 dz1 + w1 dz3;
    # dx5 = w4 dz1 + w3 dz2 + w2 dz3 + w1 dz4  (in 2-D indices: dL/dX22 =
    #   F22 dO11 + F21 dO12 + F12 dO21 + F11 dO22 -- the recitation's version of this line
    #   has an index slip); dx6 = w4 dz2 + w2 dz4; dx7 = w3 dz3; dx8 = w4 dz3 + w3 dz4;
    # dx9 = w4 dz4
    _, gx, _ = _conv_example()
    assert gx.tolist() == [[[[1.0, 2.0, 0.0], [2.0, 4.0, 4.0], [-3.0, 2.0, 8.0]]]]
    flipped = tg.tensor([[[[2.0, -1.0], [0.0, 1.0]]]], dtype=tg.float64)
    full = F.conv2d(tg.tensor([[DZ]], dtype=tg.float64), flipped, padding=1)
    assert full.tolist() == gx.tolist()


def test_filter_gradient_is_the_input_correlated_with_dz():
    # dw1 = x1 dz1 + x2 dz2 + x4 dz3 + x5 dz4 = 1 + 4 + 12 + 20, and so on
    _, _, gw = _conv_example()
    assert gw.tolist() == [[[[37.0, 47.0], [67.0, 77.0]]]]


def test_strided_convolution_gradients_use_the_upsampled_output_gradient():
    # 5×5 input x = arange(25), 3×3 filter, stride 2 -> 2×2 output (recitation, part 2).
    # dW[i, j] = Σ_pq dO[p, q] x[2p + i, 2q + j] with x[a, b] = 5a + b and dO = [[1, 2], [3, 4]]
    #          = x + 2(x + 2) + 3(x + 10) + 4(x + 12) = 10 (5i + j) + 82
    x = tg.arange(25.0, dtype=tg.float64).reshape(1, 1, 5, 5).requires_grad_()
    w = tg.arange(9.0, dtype=tg.float64).reshape(1, 1, 3, 3).requires_grad_()
    do = tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=tg.float64)
    F.conv2d(x, w, stride=2).backward(do)
    expected_gw = [[10.0 * (5 * i + j) + 82 for j in range(3)] for i in range(3)]
    assert w.grad.tolist() == [[expected_gw]]
    # the same as a stride-1 correlation of x with the dilated (zero-inserted) dO
    assert F.conv2d(x.detach(), F.upsample(do, 2)).tolist() == [[expected_gw]]
    # dX[a, b] = Σ_pq dO[p, q] W[a - 2p, b - 2q]: dX[2, 2] = 1·8 + 2·6 + 3·2 + 4·0 = 26,
    # dX[1, 3] = 2·W[1, 1] = 8, dX[4, 4] = 4·W[2, 2] = 32, dX[0, 0] = 1·W[0, 0] = 0
    gx = x.grad.numpy()[0, 0]
    assert (gx[2, 2], gx[1, 3], gx[4, 4], gx[0, 0]) == (26.0, 8.0, 32.0, 0.0)


def test_stride_is_downsampling_and_dilation_is_an_upsampled_filter():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 3, 9, 8)))
    w = tg.tensor(rng.standard_normal((4, 3, 3, 3)))
    np.testing.assert_allclose(F.conv2d(x, w, stride=2).numpy(),
                               F.downsample(F.conv2d(x, w), 2).numpy(), atol=1e-12)
    np.testing.assert_allclose(F.conv2d(x, w, dilation=2).numpy(),
                               F.conv2d(x, F.upsample(w, 2)).numpy(), atol=1e-12)


def test_max_pool_backward_routes_to_the_argmax():
    # 3×3 input y1..y9, 2×2 windows at stride 1: the maxima sit at y2 (windows 1 and 2),
    # y7 (window 3) and y9 (window 4), so dy2 = dŷ1 + dŷ2, dy7 = dŷ3, dy9 = dŷ4, others 0
    y = tg.tensor([[[[1.0, 9.0, 2.0], [3.0, 4.0, 5.0], [8.0, 0.0, 7.0]]]], requires_grad=True)
    p = F.max_pool2d(y, 2, stride=1)
    assert p.tolist() == [[[[9.0, 9.0], [8.0, 7.0]]]]
    p.backward(tg.tensor([[DZ]]))
    assert y.grad.tolist() == [[[[0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]]]


def test_mean_pool_backward_spreads_a_quarter_to_each_cell():
    # dy1 = dŷ1 / 4; dy2 = (dŷ1 + dŷ2) / 4; dy5 = (dŷ1 + dŷ2 + dŷ3 + dŷ4) / 4; dy9 = dŷ4 / 4
    y = tg.zeros(1, 1, 3, 3, requires_grad=True)
    F.avg_pool2d(y, 2, stride=1).backward(tg.tensor([[DZ]]))
    g = y.grad.numpy()[0, 0]
    assert g[0, 0] == 0.25 and g[0, 1] == 0.75 and g[1, 1] == 2.5 and g[2, 2] == 1.0


def test_strided_pooling_gradient_is_zero_insertion():
    # 2×2 input x1..x4 upsampled by 2 -> 3×3 z with z1 = x1, z3 = x2, z7 = x3, z9 = x4, zeros
    # elsewhere; so dx1 = dz1, dx2 = dz3, dx3 = dz7, dx4 = dz9 (the notes' uSample)
    x = tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    z = F.upsample(x, 2)
    assert z.tolist() == [[[[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]]]
    z.backward(tg.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    assert x.grad.tolist() == [[[[1.0, 3.0], [7.0, 9.0]]]]


def test_multichannel_input_gradient_sums_over_output_maps():
    # dX[c] = Σ_k full-conv(dZ[k], flipped W_k[c]): check against the per-map sum
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 2, 2)))
    dz = rng.standard_normal((1, 3, 3, 3))
    F.conv2d(x, w).backward(tg.tensor(dz))
    expected = np.zeros((2, 4, 4))
    for c in range(2):
        for k in range(3):
            flipped = w.numpy()[k, c, ::-1, ::-1]
            pad = np.pad(dz[0, k], 1)
            for a in range(4):
                for b in range(4):
                    expected[c, a, b] += (pad[a:a + 2, b:b + 2] * flipped).sum()
    np.testing.assert_allclose(x.grad.numpy()[0], expected, atol=1e-12)
