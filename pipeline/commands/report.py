"""``report``: the paper's tables and figures from the DAG's outputs (``data/report/``).

Each table is computed per training replica (params ``seeds``) and shown as the replicas' mean, ± the across-seed
SD when there are several (:mod:`pipeline.report.replicas`).

Writes ``summary.md`` (Table 1, BWT for val and test, the entropy change, Table 3, the headline claims with
their paired standard errors, Table 4's two blocks),
``figure1.png`` (Figure 1 style bars), ``figure3.png`` / ``figure3.csv`` (the answer-format ablation),
``bwt_val.png``, ``bwt_test.png``, ``entropy_change.png``,
``training_curves.png``, ``curves/<run>.csv`` (for ``dvc plots``), ``table1.csv`` and
``metrics.json`` (for ``dvc metrics``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import command
from ..config import load_params
from ..errors import UserError
from .args import add_params_argument, expand_seeds

FOLDERS = {
    "transfer": ("data/eval/transfer/seed{seeds}", "evaluate_transfer outputs"),
    "final": ("data/eval/final/seed{seeds}", "evaluate_final outputs"),
    "validate": ("data/validate/seed{seeds}", "validate_predictions outputs"),
    "pairs": ("data/pairs/seed{seeds}",
              "train_pairs outputs (the pairwise predictor's transfers, when they hold runs)"),
    "benchmarks": ("data/eval/benchmarks/seed{seeds}", "evaluate_benchmarks outputs"),
    "benchmark_transfer": ("data/eval/benchmark_transfer/seed{seeds}",
                           "benchmark_transfer outputs (the BWT on the benchmarks' domain averages)"),
    "singles": ("data/models/single/seed{seeds}", "single-task runs (<task>/log.jsonl: training curves)"),
    "joint": ("data/models/joint/seed{seeds}", "the joint run (log.jsonl)"),
    "curriculum": ("data/models/curriculum/seed{seeds}", "the curriculum run (log.jsonl)"),
    "temperature": ("data/ablation/temperature/seed{seeds}", "ablate_temperature outputs (Table 2)"),
    "answer_format": ("data/ablation/answer_format/seed{seeds}", "ablate_format outputs (Figure 3)"),
}
"""Per-replica input folders: option (``--answer-format`` for ``answer_format``) → (default, what it holds)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name, (default, what) in FOLDERS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default, metavar="DIR", help=what)
    parser.add_argument("--order-dir", default="data/order", help="order outputs")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder")
    add_params_argument(parser)
    parser.epilog = ("A {seeds} in a folder stands for every seed of params `seeds` (one folder per training "
                     "replica): each table is computed per replica and shown as the mean, ± the across-seed SD "
                     "when there are several (docs/seeds.md).")


def _replica_folders(args: argparse.Namespace, seeds: list[int]) -> dict[str, list[Path]]:
    """Each input's folder per replica, in ``seeds``' order; a folder without ``{seeds}`` serves one seed only."""
    out = {}
    for name in FOLDERS:
        pattern = getattr(args, name)
        if "{seeds}" not in pattern and len(seeds) > 1:
            raise UserError(f"--{name.replace('_', '-')} {pattern}: {len(seeds)} seeds in params, so the folder needs "
                            "{seeds} (one folder per replica)")
        out[name] = [Path(p) for p in expand_seeds([pattern], seeds)]
    return out


def _read_csv(path: Path):
    import pandas as pd

    if not path.exists():
        raise UserError(f"{path}: file not found (run the stage that writes it first)")
    return pd.read_csv(path)


HEADLINE = {"CL vs JT": ("joint", 0.062), "CL vs MM": ("merged", 0.124)}
"""The abstract's two claims: the other model and the paper's figure."""


def _headline(finals: list[Path], tasks: list[str]) -> dict[str, dict[str, float | None]]:
    """The curriculum's relative gain over joint training and merging on the test average, with its paired SE
    (:func:`relative_gain`), from the per-prompt results of ``evaluate_final`` (its ``units.jsonl``), pooled over
    the replicas (and ``sd``: the across-seed SD of the replicas' own gains); a comparison whose models were not
    evaluated is left out."""
    from ..analysis.headline import relative_gain
    from ..eval.reuse import RESULTS, load_named_results
    from ..report.replicas import pooled, sd

    if not all((final / RESULTS).exists() for final in finals):
        return {}
    replicas = [load_named_results(final / RESULTS, split="test") for final in finals]
    source = " + ".join(str(f / RESULTS) for f in finals)

    def gain_over(other: str, per_prompt: dict, label: str) -> tuple[float | None, float | None]:
        reference = {t: per_prompt[other, t] for t in tasks}
        if not any(float(v.mean()) > 0 for v in reference.values()):  # a tiny run can leave it at 0
            return None, None
        try:
            return relative_gain({t: per_prompt["curriculum", t] for t in tasks}, reference)
        except ValueError as exc:
            raise UserError(f"{source}: {label}: {exc}") from None

    out: dict[str, dict[str, float | None]] = {}
    for label, (other, paper) in HEADLINE.items():
        if not all((name, t) in r for r in replicas for name in ("curriculum", other) for t in tasks):
            continue
        gain, se = gain_over(other, pooled(replicas), label)
        each = [gain_over(other, r, label)[0] for r in replicas] if len(replicas) > 1 else []
        spread = sd([g for g in each if g is not None]) if each and None not in each else None
        out[label] = {"gain": gain, "se": se, "sd": spread, "paper": paper}
    return out


def _table2(params, transfers: list[Path], ablations: list[Path], tasks: list[str]):
    """Table 2 (the replicas' mean and SD) and the verdicts on Section 5.3's predictions (per-prompt results
    pooled over the replicas), or (None, None, {}) without ablation runs."""
    from ..eval.reuse import RESULTS, load_named_results
    from ..report.replicas import mean_and_sd, pooled, sd
    from ..report.tables import table2, temperature_verdicts

    runs = dict(params.ablations.temperature.runs)
    if not runs:
        return None, None, {}
    tables, befores, afters = [], [], []
    for transfer, ablation in zip(transfers, ablations):
        frames = [_read_csv(folder / f"{kind}.csv") for folder in (transfer, ablation)
                  for kind in ("accuracies", "entropies")]
        tables.append(table2(*frames, runs, tasks))
        before = load_named_results(transfer / RESULTS, "test", "per_prompt_greedy")
        after = load_named_results(ablation / RESULTS, "test", "per_prompt_greedy")
        for folder, found, key in ((transfer, before, lambda t, T: (t, t)),
                                   (ablation, after, lambda t, T: (f"{t}@{T:g}", t))):
            missing = [f"{key(t, T)[0]} on {t}" for t, T in runs.items() if key(t, T) not in found]
            if missing:
                raise UserError(f"{folder / RESULTS}: no greedy per-prompt test results for {', '.join(missing)} "
                                "(rerun the stage that wrote it)")
        befores.append({t: before[t, t] for t in runs})
        afters.append({t: after[f"{t}@{T:g}", t] for t, T in runs.items()})
    mean, spread = mean_and_sd(tables)
    verdicts = temperature_verdicts(runs, pooled(befores), pooled(afters))
    each = [temperature_verdicts(runs, b, a) for b, a in zip(befores, afters)]
    for name, verdict in verdicts.items():  # the across-seed SD of the replicas' own differences
        verdict["sd"] = sd([v[name]["difference"] for v in each]) if len(each) > 1 else None
    return mean, spread, verdicts


def _figure3(params, ablations: list[Path]):
    """Figure 3's table (accuracies: the replicas' mean; SE columns: the SE of that mean) and the across-seed SD,
    or (None, None) without the answer-format ablation."""
    from ..report.replicas import mean_and_sd, mean_of_errors
    from ..report.tables import figure3

    if params.ablations.answer_format.task is None:
        return None, None
    tables = []
    for ablation in ablations:
        frame = _read_csv(ablation / "accuracies.csv")
        if frame.empty:
            raise UserError(f"{ablation / 'accuracies.csv'}: no rows, but ablations.answer_format.task is "
                            f"{params.ablations.answer_format.task!r} (rerun ablate_format)")
        tables.append(figure3(frame))
    mean, spread = mean_and_sd(tables)
    for column in [c for c in mean.columns if c.startswith("SE (")]:
        mean[column] = [mean_of_errors([t.loc[row, column] for t in tables]) for row in mean.index]
        spread[column] = float("nan")
    return mean, spread


@command("report", help="The paper's tables (summary.md) and figures (PNG) from the DAG's outputs.")
def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..analysis.curricula import ENUMERATE_MAX_K, all_curricula, compare_rankings, ranks_by_delta_rel
    from ..analysis.pairwise import PairwisePredictor
    from ..analysis.signal import Verdict, no_signal_reason
    from ..analysis.tables import floored_transfer, mean_pair_tables, mean_transfer, read_transfer_table, read_weights
    from ..io import staged_outputs, write_json_atomic
    from ..report.figures import read_curves, save_bar_chart, save_figure3, save_training_curves
    from ..report.heatmap import save_heatmap
    from ..report.replicas import mean_and_sd, mean_validation
    from ..report.tables import (benchmark_table1, comparison_metrics, markdown, predictor_errors,
                                 ranking_agreement_text, table1, table3, table4)

    params = load_params(args.params)
    tasks, seeds = list(params.tasks), list(params.seeds)
    folders = _replica_folders(args, seeds)
    order_dir = Path(args.order_dir)
    transfers = [_read_csv(folder / "accuracies.csv") for folder in folders["transfer"]]
    finals = [_read_csv(folder / "accuracies.csv") for folder in folders["final"]]
    if not (order_dir / "curriculum.json").exists():
        raise UserError(f"{order_dir / 'curriculum.json'}: file not found (run `order` first)")
    curriculum = json.loads((order_dir / "curriculum.json").read_text())
    floor = params.order.floor

    # BWT of the replicas' mean accuracies, as `order` takes it.
    bwt, base, pairwise = {}, {}, {}
    alpha = read_weights(None, tuple(tasks), given=dict(params.order.weights))
    sources = {"val": [f / "accuracies.csv" for f in folders["transfer"]]}
    sources["test"] = sources["val"]
    bench_transfer = [f / "accuracies.csv" for f in folders["benchmark_transfer"]]
    if all(p.exists() and set(_read_csv(p).get("evaluated_on", [])) == set(tasks) for p in bench_transfer):
        sources["benchmarks"] = bench_transfer  # every task has a benchmark: the BWT on them
    for split, paths in sources.items():
        table = mean_transfer([read_transfer_table(p, "accuracy", split=split) for p in paths], list(map(str, paths)))
        floored = floored_transfer(table, floor, " + ".join(map(str, paths)), tasks)
        bwt[split] = pd.DataFrame(floored.bwt, index=pd.Index(tasks, name="evaluated on ↓ / trained on →"),
                                  columns=tasks)
        base[split] = floored.base
        pair_paths = [str(f / "accuracies.csv") for f in folders["pairs"]]
        cube = mean_pair_tables(pair_paths, tasks, split) \
            if split != "benchmarks" and all(Path(p).exists() for p in pair_paths) else None
        if cube is not None:  # as `order` takes it: floored, a_k from the transfer table, params' scales
            pairwise[split] = PairwisePredictor.from_measured(np.diag(floored.single), cube, floor,
                                                              params.order.pairwise_scales, " + ".join(pair_paths))
    t1, t1_sd = mean_and_sd([table1(final, transfer, tasks, split="test", floor=floor or 0.0)  # floor None: zeros
                             for final, transfer in zip(finals, transfers)])              # refused above
    entropy = _read_csv(order_dir / "entropy_change.csv").set_index("trained_on") \
        if (order_dir / "entropy_change.csv").exists() else None
    validations = [json.loads((f / "validation.json").read_text()) for f in folders["validate"]
                   if (f / "validation.json").exists()]
    validation, t3, t3_sd = None, None, None
    if validations:
        if len(validations) != len(seeds):
            raise UserError(f"{' + '.join(map(str, folders['validate']))}: validation.json of some replicas only "
                            "(rerun validate_predictions)")
        try:
            validation = mean_validation(validations)
        except ValueError as exc:
            raise UserError(f"{' + '.join(map(str, folders['validate']))}: {exc}") from None
        t3, t3_sd = mean_and_sd([table3(_read_csv(f / "predictions.csv"), v)
                                 for f, v in zip(folders["validate"], validations)])
    blocks = {split: all_curricula(tuple(tasks), bwt[split].to_numpy(), base[split], alpha, pairwise.get(split))
              for split in ("val", "test")} if len(tasks) <= ENUMERATE_MAX_K else None
    t4 = table4(blocks, validation) if blocks else None
    agreement = compare_rankings(ranks_by_delta_rel(blocks["val"]), ranks_by_delta_rel(blocks["test"])) \
        if blocks else None
    headline = _headline(folders["final"], tasks)
    t2, t2_sd, verdicts = _table2(params, folders["transfer"], folders["temperature"], tasks)
    f3, f3_sd = _figure3(params, folders["answer_format"])

    bench_paths = [f / "results.csv" for f in folders["benchmarks"]]
    benches = [_read_csv(p) for p in bench_paths if p.exists()]
    t1b, t1b_sd = mean_and_sd([benchmark_table1(b) for b in benches]) \
        if len(benches) == len(seeds) and all(len(b) for b in benches) else (None, None)

    # Training curves: the first replica's runs.
    singles, first = folders["singles"][0], (f" (seed {seeds[0]})" if len(seeds) > 1 else "")
    runs = {f"single-{t}": (f"single: {t}{first}", singles / t / "log.jsonl") for t in tasks}  # stem: (title, log)
    runs |= {"joint": (f"joint{first}", folders["joint"][0] / "log.jsonl"),
             "curriculum": (f"curriculum: {' → '.join(curriculum['order'])}{first}",
                            folders["curriculum"][0] / "log.jsonl")}
    curves = {stem: (title, read_curves(log)) for stem, (title, log) in runs.items() if log.exists()}

    order_line = " → ".join(curriculum["order"])
    no_signal = no_signal_reason({col: {t: float(t1.loc[t, col]) for t in tasks} for col in t1.columns})
    chosen = blocks.get(curriculum["split"]) if blocks else None
    tied = int((chosen["score"].round(12) == chosen["score"].round(12).max()).sum()) if chosen is not None else 1
    lines = [
        "# omni-thinker report",
        "",
        *([f"**No learning signal: {no_signal}.** Every comparison below is between equal numbers: no verdict is "
           "drawn from them, and the tables show only that the stages ran.", ""] if no_signal else []),
        f"Tasks: {', '.join(tasks)}. Accuracy: `eval.accuracy` = {params.eval.accuracy}"
        f"{f' (mean@{params.eval.samples})' if params.eval.accuracy == 'sampled' else ''}; "
        f"curriculum order ({curriculum['method']}, from {curriculum['split']} BWT): **{order_line}**"
        + (f" (one of {tied} orders that tie on the predicted score S: the BWT prefers none of them)."
           if tied > 1 else "."),
        "",
        *([f"Replicas: {len(seeds)} training seeds ({', '.join(map(str, seeds))}; `seeds`). Every accuracy is the "
           "replicas' mean ± their standard deviation (sample SD across seeds); BWT and the order come from the "
           "mean accuracies; per-prompt comparisons pool the replicas; training curves show the first seed.", ""]
          if len(seeds) > 1 else []),
        "## Table 1: test accuracy per task",
        "",
        "Base: θ0; ST×K: each task's own single-task GRPO model; SFT: rejection-sampling fine-tuning; "
        "MM: TIES merge of the single-task models; JT: joint training; CL: curriculum. "
        "Δrel: Eq. 14 against Base (natural log).",
        "",
        markdown(t1, sd=t1_sd),
        "",
    ]
    lines += ["## Table 2: rollout temperature in single-task training (Section 5.3)", ""]
    if t2 is not None:
        lines += ["Greedy test accuracy of each task's single-task model trained at rollout temperature 1 "
                  "(`train_single`) and at another (`ablations.temperature.runs`), and each model's mean test "
                  "entropy over the tasks (Eq. 11). The paper's predictions: a task trained hotter falls on itself "
                  "(QA at 1.2), one trained colder gains (writing at 0.1).", "", markdown(t2, sd=t2_sd), ""]
        for v in verdicts.values():
            verdict = Verdict(v["holds"], v["reason"]).text(
                "holds" + (" (beyond 2 SE)" if v["beyond_noise"] else " (between 1 and 2 SE)"), "does not hold")
            lines.append(f"- {v['task']} trained at T={v['temperature']:g}: the paper predicts it {v['predicted']} on "
                         f"{v['task']}; measured {v['difference']:+.3f} ± {v['se']:.3f} (paired, greedy"
                         + (f"; SD across seeds {v['sd']:.3f}" if v.get("sd") is not None else "")
                         + f"): **{verdict}**.")
        lines.append("")
    else:
        lines += ["No temperature ablation (`ablations.temperature.runs` is empty in these parameters).", ""]
    lines += ["## Figure 3: full-text answers versus letter choices (Appendix A.2.1)", ""]
    if f3 is not None:
        lines += [f"Two single-task {params.ablations.answer_format.task} policies from θ0 on the same prompts: "
                  "`train_single`'s, trained to answer with the option's full text, and one trained to answer with "
                  "its letter (`ablate_format`); each evaluated with full-text and with lettered prompts. Accuracy "
                  "(`eval.accuracy`) and its standard error over prompts. The paper (MMLU-Pro): 51% vs 41% with "
                  "full-text prompts; the letter model slightly ahead with lettered ones.", "",
                  markdown(f3, sd=f3_sd), "", "![Figure 3](figure3.png)", ""]
    else:
        lines += ["No answer-format ablation (`ablations.answer_format.task` is null in these parameters).", ""]
    lines += ["## Table 1 on the benchmarks", ""]
    if t1b is not None:
        lines += ["Accuracy (math, MMLU-Pro), pass@1 (code), win rate against GPT-4 (MT-Bench writing and roleplay); "
                  f"per category: `{' + '.join(map(str, bench_paths))}`.", "",
                  markdown(t1b.set_index(t1b.index.map(lambda k: f"{k[0]} / {k[1]}")), sd=t1b_sd), ""]
    else:
        lines += ["No benchmark evaluated (`benchmarks.names` is empty in these parameters).", ""]
    for split in bwt:
        note = ["Each domain's benchmarks averaged (`benchmark_transfer`), as the paper's test BWT.", ""] \
            if split == "benchmarks" else []
        lines += [f"## BWT ({split}), Eq. 6", "", *note, markdown(bwt[split], fmt="{:+.3f}"), ""]
    if "benchmarks" not in bwt:
        lines += ["No BWT on the benchmarks: it needs a benchmark of every task's domain in `benchmarks.names` "
                  "(`benchmark_transfer`).", ""]
    if entropy is not None:
        lines += [f"## Entropy change H_ij ({curriculum['split']}), Eq. 12", "",
                  "Rows: trained on; columns: evaluated on; relative change of the mean token entropy.", "",
                  markdown(entropy, fmt="{:+.1%}"), ""]
    if t3 is not None:
        both = " and the pairwise predictor (docs/curriculum.md)" if "Δrel pairwise" in t3.columns else ""
        lines += [f"## Table 3: predicted (Algorithm 1{both}) vs actual accuracy ({validation['split']})", "",
                  markdown(t3, sd=t3_sd), ""]
        if len(validation["orders"]) > 1:
            verdict = Verdict(validation["best_predicted_is_best_actual"],
                              validation.get("best_undetermined", "")).text()
            lines += [f"Best predicted order (Algorithm 1) is also the best measured one: **{verdict}**.", ""]
        errors = predictor_errors(validation)
        if errors is not None:
            lines += [f"## The curriculum predictors on the {len(validation['orders'])} trained orders", "",
                      "Per-task mean absolute error of the predicted accuracies, mean absolute error of the predicted "
                      "Δrel, and Spearman's ρ of predicted and measured Δrel over the orders, on each split. "
                      "pairwise: λ of params (nothing fitted); pairwise_loo: λ fitted on the other orders "
                      "(leave-one-order-out). docs/curriculum.md.", "", markdown(errors, fmt="{:.4f}"), ""]
    if headline:
        lines += ["## The headline claims", "",
                  "The abstract: the curriculum gains 6.2% over joint training and 12.4% over model merging, relative, "
                  "on the average accuracy (Table 1's: CL average / other average − 1). This run, on the test "
                  "splits, with the standard error of the paired comparison (the same prompts; delta method):", "",
                  "| comparison | relative gain | paired SE | paper |", "|---|---|---|---|"]
        for label, h in headline.items():
            gain, se = ((f"{h['gain']:+.1%}", f"{h['se']:.1%}") if h["gain"] is not None
                        else ("undefined (the other model's average is 0)", "–"))
            spread = f" (SD across seeds {h['sd']:.1%})" if h.get("sd") is not None else ""
            lines.append(f"| {label} | {gain}{spread} | {se} | {h['paper']:+.1%} |")
        lines.append("")
    if t4 is not None and agreement is not None:
        measured = f"; Δrel actual: measured on {validation['split']}" if validation else ""
        pairs_note = "; pairwise: the pairwise predictor's Δrel and rank on the same split" if pairwise else ""
        lines += ["## Table 4: every order ranked by predicted Δrel, on the val BWT and on the test BWT", "",
                  f"Algorithm 1 on each split's BWT; the order is chosen from the {curriculum['split']} one"
                  f"{measured}{pairs_note}. The two rankings (Algorithm 1's): {ranking_agreement_text(agreement)}",
                  "", markdown(t4), ""]
    lines += ["## Figures", "", "![Figure 1](figure1.png)", "", "![BWT val](bwt_val.png) ![BWT test](bwt_test.png)",
              "", "![Entropy change](entropy_change.png)" if entropy is not None else "", "",
              "![Training curves](training_curves.png)", ""]

    metrics = {"seeds": seeds, "no_signal": no_signal,
               "test_accuracy": {col: {t: float(t1.loc[t, col]) for t in tasks} for col in t1.columns},
               "average": {col: float(t1.loc["Average", col]) for col in t1.columns},
               "delta_rel": {col: float(t1.loc["Δrel", col]) for col in t1.columns},
               "curriculum": curriculum["order"]}
    if len(seeds) > 1:  # the across-seed SD of every Table 1 cell
        metrics["test_accuracy_sd"] = {col: {t: float(t1_sd.loc[t, col]) for t in [*tasks, "Average"]}
                                       for col in t1_sd.columns}
    if verdicts:
        metrics["table2"] = {name: {"difference": v["difference"], "se": v["se"], "holds": v["holds"],
                                    **({"undetermined": v["reason"]} if v["holds"] is None else {})}
                             for name, v in verdicts.items()}
    if f3 is not None:
        metrics["figure3"] = {f"{evaluated} / {trained}": float(f3.loc[evaluated, trained]) for evaluated in f3.index
                              for trained in f3.columns if trained.startswith("trained on ")}
    if headline:
        metrics["headline"] = {label: {"gain": h["gain"], "se": h["se"], **({"sd": h["sd"]} if len(seeds) > 1 else {})}
                               for label, h in headline.items()}
    if agreement is not None:
        metrics["table4"] = {"spearman_val_test": agreement.spearman, "discordant_pairs": agreement.discordant_pairs,
                             "best_val": agreement.best_first if agreement.best_first_ties == 1 else None,
                             "best_test": agreement.best_second if agreement.best_second_ties == 1 else None}
    if validation:
        metrics["validation"] = {k: {"predicted": v["predicted"]["delta_rel"], "actual": v["actual"]["delta_rel"]}
                                 for k, v in validation["orders"].items()}
        if validation.get("errors"):
            metrics["predictors"] = validation["errors"]
    with staged_outputs(args.out) as stage:
        (stage / "summary.md").write_text("\n".join(lines), encoding="utf-8")
        t1.to_csv(stage / "table1.csv", float_format="%.6g")
        if t2 is not None:
            t2.to_csv(stage / "table2.csv", float_format="%.6g")
        else:
            (stage / "table2.csv").write_text("evaluated on\n")
        if f3 is not None:
            f3.to_csv(stage / "figure3.csv", float_format="%.6g")
        else:
            (stage / "figure3.csv").write_text("evaluated on\n")
        save_figure3(f3, stage / "figure3.png")
        if t1b is not None:
            t1b.to_csv(stage / "table1_benchmarks.csv", float_format="%.6g")
        else:
            (stage / "table1_benchmarks.csv").write_text("domain,benchmark\n")
        write_json_atomic(stage / "details.json", metrics)
        write_json_atomic(stage / "metrics.json", comparison_metrics(metrics))
        save_bar_chart(t1.drop(index="Δrel"), stage / "figure1.png", "Test accuracy per task (Figure 1 style)"
                       + (f", mean ± SD over {len(seeds)} seeds" if len(seeds) > 1 else ""),
                       errors=t1_sd.drop(index="Δrel") if len(seeds) > 1 else None)
        for split in ("val", "test"):
            save_heatmap(bwt[split].to_numpy(), tasks, tasks, stage / f"bwt_{split}.png",
                         title=f"Backward transfer BWT_ij ({split}, Eq. 6)", row_label="evaluated on (i)",
                         col_label="trained on (j)")
        if entropy is not None:
            save_heatmap(entropy.to_numpy(dtype=float), list(entropy.index), list(entropy.columns),
                         stage / "entropy_change.png", title=f"Entropy change H_ij ({curriculum['split']}, Eq. 12)",
                         row_label="trained on (i)", col_label="evaluated on (j)", fmt="{:+.1%}")
        if curves:
            save_training_curves(dict(curves.values()), stage / "training_curves.png")
            (stage / "curves").mkdir()
            for stem, (_, frame) in curves.items():
                frame.to_csv(stage / "curves" / f"{stem}.csv", index=False, float_format="%.4g")
    print(markdown(t1))
    print(f"wrote {Path(args.out) / 'summary.md'} and figures")
    return 0
