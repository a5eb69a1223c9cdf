"""Per seed: is the rescale path error <= RTN's after every layer, for every format? (bench/RESULTS_relu.md)"""

from scaleq.experiments import relu as ex

viol = []
n = 0
for seed in range(5):
    _, rows, _ = ex.run(seed=seed, methods=("rescale", "rtn"))
    by = {(r.fmt, r.method): r for r in rows}
    for f in {r.fmt for r in rows}:
        for l in range(3):
            n += 1
            a, b = by[f, "rescale"].layer_errors[l], by[f, "rtn"].layer_errors[l]
            if a > b:
                viol.append((seed, f, l, a, b))
    print(
        seed,
        "max ratio rescale/rtn:",
        max(
            by[f, "rescale"].layer_errors[l] / by[f, "rtn"].layer_errors[l]
            for f in {r.fmt for r in rows}
            for l in range(3)
        ),
    )
print(f"{len(viol)} violations out of {n}", viol)
