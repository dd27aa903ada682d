"""Curriculum analysis core (Section 3 of the paper): pure numpy, no model needed.

- :mod:`.bwt`         backward-transfer matrix (Definition 1, Eq. 6) and the accuracy floor
- :mod:`.prediction`  terminal accuracies of a curriculum: Algorithm 1 and its closed form (Eq. 9)
- :mod:`.scores`      aggregated score S (Eq. 10), Δrel (Eq. 14) and the LOP weight matrix
- :mod:`.ordering`    curriculum choice: exact LOP, greedy (Algorithm 2), forgettability, large-K heuristic
- :mod:`.entropy`     entropy change matrix H (Eq. 12)
- :mod:`.tables`      reading and validating accuracy / entropy / pair tables
- :mod:`.curricula`   every order's predictions (Table 4) and two rankings compared
- :mod:`.pairwise`    the pairwise predictor: forward and backward transfer from two-task curricula
- :mod:`.validation`  the predictors scored side by side on trained orders
- :mod:`.bounds`      upper bounds on the LOP optimum (optimality gap of heuristics)
- :mod:`.benchmark_transfer`  transfer measured on the benchmarks (domain averages)
- :mod:`.headline`    the headline gains of the curriculum over joint training and merging
"""
