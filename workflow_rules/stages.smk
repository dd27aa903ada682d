# Generated from pipeline/workflow/stages.py by `python -m pipeline stages --write`: edit the table, not this file.
# Helpers (TASKS, param, stage_code, slurm_resources) and the resolved configuration: common.smk.

localrules:
    all,
    order,
    report,


# curate@{task}: one task's data from its real source or the synthetic generator (Section 4)
rule curate:
    input:
        code=stage_code("curate"),
    output:
        "data/curated/{task}/train.parquet",
        "data/curated/{task}/val.parquet",
        "data/curated/{task}/test.parquet",
        "data/curated/{task}/pretrain.parquet",
        "data/curated/{task}/stats.json",
    params:
        seed=lambda wc: param("seed", wc),
        data_val_fraction=lambda wc: param("data.val_fraction", wc),
        data_test_fraction=lambda wc: param("data.test_fraction", wc),
        data_tasks_task=lambda wc: param("data.tasks.{task}", wc),
        models_base=lambda wc: param("models.base", wc),
    resources: **slurm_resources("curate")
    log:
        "data/logs/curate/{task}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline curate --task {wildcards.task} --out data/curated/{wildcards.task} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# base_model: θ0: the tiny Qwen2 built and warm-started, or models.base copied (Section 4)
rule base_model:
    input:
        expand("data/curated/{t}/pretrain.parquet", t=TASKS),
        expand("data/curated/{t}/train.parquet", t=TASKS),
        code=stage_code("base_model"),
    output:
        directory("data/models/base"),
    params:
        seed=lambda wc: param("seed", wc),
        models=lambda wc: param("models", wc),
    threads: workflow.cores
    resources: **slurm_resources("base_model")
    log:
        "data/logs/base_model.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline base-model --out data/models/base --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_single@{task}: single-task GRPO from θ0 (Section 4)
rule train_single:
    input:
        "data/models/base",
        "data/curated/{task}/train.parquet",
        code=stage_code("train_single"),
    output:
        directory("data/models/single/{task}/model"),
        directory("data/models/single/{task}/checkpoints"),
        "data/models/single/{task}/log.jsonl",
        "data/models/single/{task}/metrics.json",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides_task=lambda wc: param("train.overrides.{task}", wc),
    resources: **slurm_resources("train_single")
    priority: 50
    log:
        "data/logs/train_single/{task}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode single --task {wildcards.task} --base data/models/base --out data/models/single/{wildcards.task} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_transfer: θ0 and every single-task model on every task, val and test: accuracy and entropy (Eq. 11)
rule evaluate_transfer:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        expand("data/curated/{t}/val.parquet", t=TASKS),
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("evaluate_transfer"),
    output:
        "data/eval/transfer/accuracies.csv",
        "data/eval/transfer/entropies.csv",
        "data/eval/transfer/units.jsonl",
    params:
        seed=lambda wc: param("seed", wc),
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_transfer")
    priority: 50
    log:
        "data/logs/evaluate_transfer.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single --out data/eval/transfer --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# benchmark_transfer: θ0 and every single-task model on every benchmark; domain averages for `order.split: benchmarks`
rule benchmark_transfer:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        code=stage_code("benchmark_transfer"),
    output:
        "data/eval/benchmark_transfer/results.csv",
        "data/eval/benchmark_transfer/accuracies.csv",
        "data/eval/benchmark_transfer/entropies.csv",
    params:
        seed=lambda wc: param("seed", wc),
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    threads: workflow.cores
    resources: **slurm_resources("benchmark_transfer")
    log:
        "data/logs/benchmark_transfer.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline benchmark --transfer data/models/base data/models/single --out data/eval/benchmark_transfer --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# order: BWT (Eq. 6), Algorithm 1, the curriculum from the LOP (Eq. 10) and the entropy matrix (Eq. 12)
rule order:
    input:
        "data/eval/transfer/accuracies.csv",
        "data/eval/benchmark_transfer/accuracies.csv",
        "data/eval/transfer/entropies.csv",
        "data/eval/benchmark_transfer/entropies.csv",
        code=stage_code("order"),
    output:
        "data/order/bwt.csv",
        "data/order/curricula.csv",
        "data/order/bwt.png",
        "data/order/entropy_change.csv",
        "data/order/entropy_change.png",
        "data/order/curriculum.json",
    params:
        seed=lambda wc: param("seed", wc),
        order=lambda wc: param("order", wc),
    priority: 50
    log:
        "data/logs/order.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline order --accuracies data/eval/transfer/accuracies.csv data/eval/benchmark_transfer/accuracies.csv --entropies data/eval/transfer/entropies.csv data/eval/benchmark_transfer/entropies.csv --out data/order --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# sft_rft: the rejection-sampling SFT baseline from θ0 (Section 4)
rule sft_rft:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS),
        code=stage_code("sft_rft"),
    output:
        directory("data/models/sft/model"),
        "data/models/sft/rft_data.jsonl",
        "data/models/sft/rft.json",
    params:
        seed=lambda wc: param("seed", wc),
        baselines_rft=lambda wc: param("baselines.rft", wc),
        eval_backend=lambda wc: param("eval.backend", wc),
        eval_vllm=lambda wc: param("eval.vllm", wc),
        rewards=lambda wc: param("rewards", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
    resources: **slurm_resources("sft_rft")
    log:
        "data/logs/sft_rft.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline sft-rft --base data/models/base --out data/models/sft --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# merge_ties: the TIES-merging baseline: the best single-task checkpoints on val, merged into θ0 with mergekit
rule merge_ties:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        expand("data/models/single/{t}/checkpoints", t=TASKS),
        expand("data/models/single/{t}/metrics.json", t=TASKS),
        "data/eval/transfer/units.jsonl",
        expand("data/curated/{t}/val.parquet", t=TASKS),
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("merge_ties"),
    output:
        directory("data/models/merged/model"),
        "data/models/merged/selection.json",
    params:
        seed=lambda wc: param("seed", wc),
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        baselines_merge=lambda wc: param("baselines.merge", wc),
    threads: workflow.cores
    resources: **slurm_resources("merge_ties")
    log:
        "data/logs/merge_ties.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline merge-ties --base data/models/base --singles data/models/single --reuse data/eval/transfer --out data/models/merged --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_curriculum: MT-GRPO task by task in the order of `order`; its first segment is σ(1)'s single-task run (Section 2.3)
rule train_curriculum:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        "data/order/curriculum.json",
        expand("data/curated/{t}/train.parquet", t=TASKS),
        code=stage_code("train_curriculum"),
    output:
        directory("data/models/curriculum/model"),
        directory("data/models/curriculum/segments"),
        "data/models/curriculum/log.jsonl",
        "data/models/curriculum/metrics.json",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
    resources: **slurm_resources("train_curriculum")
    priority: 50
    log:
        "data/logs/train_curriculum.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode curriculum --order data/order/curriculum.json --base data/models/base --singles data/models/single --out data/models/curriculum --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_joint: MT-GRPO over all tasks mixed (Section 2.3)
rule train_joint:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS),
        code=stage_code("train_joint"),
    output:
        directory("data/models/joint/model"),
        "data/models/joint/log.jsonl",
        "data/models/joint/metrics.json",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
    resources: **slurm_resources("train_joint")
    log:
        "data/logs/train_joint.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode joint --base data/models/base --out data/models/joint --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_final: Base, ST×K, SFT, MM, JT and CL on test (Table 1; Base and ST reused from evaluate_transfer)
rule evaluate_final:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        "data/eval/transfer/units.jsonl",
        "data/models/sft/model",
        "data/models/merged/model",
        "data/models/joint/model",
        "data/models/curriculum/model",
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("evaluate_final"),
    output:
        "data/eval/final/accuracies.csv",
        "data/eval/final/entropies.csv",
        "data/eval/final/units.jsonl",
    params:
        seed=lambda wc: param("seed", wc),
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_final")
    log:
        "data/logs/evaluate_final.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single --model sft=data/models/sft/model --model merged=data/models/merged/model --model joint=data/models/joint/model --model curriculum=data/models/curriculum/model --split test --reuse data/eval/transfer --out data/eval/final --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_benchmarks: the final models on Table 1's benchmarks (benchmarks.names); Base and ST×K from benchmark_transfer
rule evaluate_benchmarks:
    input:
        "data/models/sft/model",
        "data/models/merged/model",
        "data/models/joint/model",
        "data/models/curriculum/model",
        "data/eval/benchmark_transfer/results.csv",
        code=stage_code("evaluate_benchmarks"),
    output:
        "data/eval/benchmarks/results.csv",
    params:
        seed=lambda wc: param("seed", wc),
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_benchmarks")
    log:
        "data/logs/evaluate_benchmarks.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline benchmark --model sft=data/models/sft/model --model merged=data/models/merged/model --model joint=data/models/joint/model --model curriculum=data/models/curriculum/model --reuse data/eval/benchmark_transfer/results.csv --out data/eval/benchmarks --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# validate_predictions: extra curricula trained and measured against Algorithm 1's predictions (Table 3)
rule validate_predictions:
    input:
        "data/order/curriculum.json",
        "data/order/curricula.csv",
        "data/eval/transfer/accuracies.csv",
        "data/models/curriculum/model",
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        expand("data/curated/{t}/train.parquet", t=TASKS),
        expand("data/curated/{t}/val.parquet", t=TASKS),
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("validate_predictions"),
    output:
        "data/validate/predictions.csv",
        directory("data/validate/models"),
        "data/validate/validation.json",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        order_floor=lambda wc: param("order.floor", wc),
        validate=lambda wc: param("validate", wc),
    resources: **slurm_resources("validate_predictions")
    priority: 50
    log:
        "data/logs/validate_predictions.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline validate-predictions --order-dir data/order --accuracies data/eval/transfer/accuracies.csv --curriculum data/models/curriculum --base data/models/base --singles data/models/single --out data/validate --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# ablate_temperature: Table 2: single-task GRPO at other rollout temperatures, evaluated on every task's test split (Sec. 5.3)
rule ablate_temperature:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS),
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("ablate_temperature"),
    output:
        directory("data/ablation/temperature/runs"),
        "data/ablation/temperature/accuracies.csv",
        "data/ablation/temperature/entropies.csv",
        "data/ablation/temperature/units.jsonl",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        ablations_temperature=lambda wc: param("ablations.temperature", wc),
    resources: **slurm_resources("ablate_temperature")
    log:
        "data/logs/ablate_temperature.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline ablate-temperature --base data/models/base --out data/ablation/temperature --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# ablate_format: Figure 3: a policy trained on letter choices beside the full-text one, both formats evaluated (App. A.2.1)
rule ablate_format:
    input:
        "data/models/base",
        expand("data/models/single/{t}/model", t=TASKS),
        "data/eval/transfer/units.jsonl",
        expand("data/curated/{t}/train.parquet", t=TASKS),
        expand("data/curated/{t}/val.parquet", t=TASKS),
        expand("data/curated/{t}/test.parquet", t=TASKS),
        code=stage_code("ablate_format"),
    output:
        directory("data/ablation/answer_format/curated"),
        directory("data/ablation/answer_format/runs"),
        "data/ablation/answer_format/accuracies.csv",
        "data/ablation/answer_format/units.jsonl",
    params:
        seed=lambda wc: param("seed", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        ablations_answer_format=lambda wc: param("ablations.answer_format", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    resources: **slurm_resources("ablate_format")
    log:
        "data/logs/ablate_format.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline ablate-format --base data/models/base --singles data/models/single --reuse data/eval/transfer --out data/ablation/answer_format --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# report: the paper's tables and figures in data/report/
rule report:
    input:
        "data/eval/benchmarks/results.csv",
        "data/eval/benchmark_transfer/accuracies.csv",
        "data/eval/transfer/accuracies.csv",
        "data/eval/final/accuracies.csv",
        "data/eval/final/units.jsonl",
        "data/order/curriculum.json",
        "data/ablation/temperature/accuracies.csv",
        "data/ablation/temperature/entropies.csv",
        "data/ablation/temperature/units.jsonl",
        "data/ablation/answer_format/accuracies.csv",
        "data/eval/transfer/entropies.csv",
        "data/eval/transfer/units.jsonl",
        "data/order/entropy_change.csv",
        "data/validate/predictions.csv",
        "data/validate/validation.json",
        expand("data/models/single/{t}/log.jsonl", t=TASKS),
        "data/models/joint/log.jsonl",
        "data/models/curriculum/log.jsonl",
        code=stage_code("report"),
    output:
        "data/report/summary.md",
        "data/report/table1.csv",
        "data/report/table2.csv",
        "data/report/figure3.csv",
        "data/report/figure3.png",
        "data/report/table1_benchmarks.csv",
        "data/report/figure1.png",
        "data/report/bwt_val.png",
        "data/report/bwt_test.png",
        "data/report/entropy_change.png",
        "data/report/training_curves.png",
        directory("data/report/curves"),
        "data/report/metrics.json",
    params:
        order_floor=lambda wc: param("order.floor", wc),
        order_weights=lambda wc: param("order.weights", wc),
        eval_accuracy=lambda wc: param("eval.accuracy", wc),
        eval_samples=lambda wc: param("eval.samples", wc),
        ablations=lambda wc: param("ablations", wc),
    log:
        "data/logs/report.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline report --transfer data/eval/transfer --final data/eval/final --order-dir data/order --validate data/validate --benchmarks data/eval/benchmarks --benchmark-transfer data/eval/benchmark_transfer --models data/models --ablation data/ablation --out data/report --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"
