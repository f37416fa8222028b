"""The engine in one screen: build a small graph, look at it, back-propagate, check it.

Fits a two-layer network to a noisy sine curve with plain gradient descent, printing the
recorded graph (op by op, with each op's backward rule from the registry), the gradients of
the first step, a finite-difference check of them, and the falling loss.

    python examples/demo.py
"""
import numpy as np

import tinygrad_cnn as tg


def show_graph(out):
    """Print each op of the graph behind ``out`` once, from the output back to the leaves."""
    seen, stack = set(), [out.grad_fn]
    while stack:  # an explicit stack, like the engine: no recursion
        node = stack.pop()
        if node is None or node in seen or not isinstance(node, tg.autograd.Node):
            continue
        seen.add(node)
        inputs = ", ".join("leaf" if not isinstance(n, tg.autograd.Node) else n.name
                           for n, _ in node.next_functions if n is not None)
        print(f"  {node.name:<10} <- ({inputs:<18}) backward: {node.rule}")
        stack.extend(n for n, _ in node.next_functions)


def main():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = tg.tensor(np.linspace(-3, 3, 64, dtype=np.float32)[:, None])
    y = tg.tensor(np.sin(x.numpy()) + 0.05 * rng.standard_normal((64, 1), dtype=np.float32))

    w1 = (tg.randn(1, 16) * 0.8).requires_grad_()
    b1 = tg.zeros(16, requires_grad=True)
    w2 = (tg.randn(16, 1) * 0.25).requires_grad_()
    b2 = tg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    def model(inp):
        return (inp @ w1 + b1).tanh() @ w2 + b2

    loss = ((model(x) - y) ** 2).mean()
    print("The recorded graph of the loss (output first):")
    show_graph(loss)
    loss.backward()
    print(f"\nloss = {loss.item():.4f}; gradient of b2 = {b2.grad.item():+.4f}, "
          f"|grad w1| = {(w1.grad ** 2).sum().sqrt().item():.4f}")

    # the same gradients by finite differences, in float64
    p64 = [p.detach().double().requires_grad_() for p in params]
    x64, y64 = x.double(), y.double()
    ok = tg.gradcheck(lambda a, b, c, d: ((((x64 @ a + b).tanh() @ c + d) - y64) ** 2).mean(),
                      p64)
    print(f"finite-difference gradcheck of all four parameters: {'passed' if ok else 'FAILED'}")

    lr = 0.1
    for step in range(1, 301):
        for p in params:
            p.grad = None
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.array -= lr * p.grad.array
        if step % 50 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
