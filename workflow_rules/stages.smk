# Generated from pipeline/workflow/stages.py by `python -m pipeline stages --write`: edit the table, not this file.
# Helpers (TASKS, SEEDS, param, stage_code, slurm_resources) and the resolved configuration: common.smk.

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
        expand("data/curated/{t}/pretrain.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        code=stage_code("base_model"),
    output:
        directory("data/models/base"),
    params:
        seed=lambda wc: param("seed", wc),
        models=lambda wc: param("models", wc),
        train_threads=lambda wc: param("train.threads", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("base_model")
    log:
        "data/logs/base_model.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline base-model --out data/models/base --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_single@{seed}-{task}: single-task GRPO from θ0 (Section 4)
rule train_single:
    input:
        "data/models/base",
        "data/curated/{task}/train.parquet",
        code=stage_code("train_single"),
    output:
        directory("data/models/single/seed{seed}/{task}/model"),
        directory("data/models/single/seed{seed}/{task}/checkpoints"),
        "data/models/single/seed{seed}/{task}/log.jsonl",
        "data/models/single/seed{seed}/{task}/metrics.json",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards_tasks_task=lambda wc: param("rewards.tasks.{task}", wc),
        rewards_math=lambda wc: param("rewards.math", wc),
        rewards_code=lambda wc: param("rewards.code", wc),
        rewards_judge=lambda wc: param("rewards.judge", wc),
        rewards_max_undefined_share=lambda wc: param("rewards.max_undefined_share", wc),
        train_overrides_task=lambda wc: param("train.overrides.{task}", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("train_single")
    priority: 50
    log:
        "data/logs/train_single/seed{seed}/{task}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode single --task {wildcards.task} --base data/models/base --out data/models/single/seed{wildcards.seed}/{wildcards.task} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_transfer@{seed}: θ0 and every single-task model on every task, val and test: accuracy and entropy (Eq. 11)
rule evaluate_transfer:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/val.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("evaluate_transfer"),
    output:
        "data/eval/transfer/seed{seed}/accuracies.csv",
        "data/eval/transfer/seed{seed}/entropies.csv",
        "data/eval/transfer/seed{seed}/units.jsonl",
    params:
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_transfer")
    priority: 50
    log:
        "data/logs/evaluate_transfer/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single/seed{wildcards.seed} --out data/eval/transfer/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# benchmark_transfer@{seed}: θ0 and every single-task model on every benchmark; domain averages for `order.split: benchmarks`
rule benchmark_transfer:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        code=stage_code("benchmark_transfer"),
    output:
        "data/eval/benchmark_transfer/seed{seed}/results.csv",
        "data/eval/benchmark_transfer/seed{seed}/accuracies.csv",
        "data/eval/benchmark_transfer/seed{seed}/entropies.csv",
    params:
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    threads: workflow.cores
    resources: **slurm_resources("benchmark_transfer")
    log:
        "data/logs/benchmark_transfer/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline benchmark --transfer data/models/base data/models/single/seed{wildcards.seed} --out data/eval/benchmark_transfer/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_pairs@{seed}: every ordered pair i → j as a two-segment curriculum, evaluated on every task: the pairwise predictor's transfers (pairs.enabled; off, an empty table)
rule train_pairs:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        expand("data/models/single/seed{seed}/{t}/log.jsonl", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/val.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("train_pairs"),
    output:
        "data/pairs/seed{seed}/accuracies.csv",
        "data/pairs/seed{seed}/entropies.csv",
        "data/pairs/seed{seed}/units.jsonl",
        directory("data/pairs/seed{seed}/runs"),
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        pairs=lambda wc: param("pairs", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("train_pairs")
    log:
        "data/logs/train_pairs/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train-pairs --base data/models/base --singles data/models/single/seed{wildcards.seed} --out data/pairs/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# order: BWT (Eq. 6) of the replicas' mean accuracies, Algorithm 1 and the pairwise predictor, the curriculum from the LOP (Eq. 10) and the entropy matrix (Eq. 12)
rule order:
    input:
        expand("data/eval/transfer/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/benchmark_transfer/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/transfer/seed{s}/entropies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/benchmark_transfer/seed{s}/entropies.csv", s=SEEDS, allow_missing=True),
        expand("data/pairs/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
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
        seeds=lambda wc: param("seeds", wc),
        order=lambda wc: param("order", wc),
    priority: 50
    log:
        "data/logs/order.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline order --accuracies data/eval/transfer/seed{{seeds}}/accuracies.csv data/eval/benchmark_transfer/seed{{seeds}}/accuracies.csv --entropies data/eval/transfer/seed{{seeds}}/entropies.csv data/eval/benchmark_transfer/seed{{seeds}}/entropies.csv --pairs data/pairs/seed{{seeds}}/accuracies.csv --out data/order --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# sft_rft@{seed}: the rejection-sampling SFT baseline from θ0 (Section 4)
rule sft_rft:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        code=stage_code("sft_rft"),
    output:
        directory("data/models/sft/seed{seed}/model"),
        "data/models/sft/seed{seed}/rft_data.jsonl",
        "data/models/sft/seed{seed}/rft.json",
    params:
        baselines_rft=lambda wc: param("baselines.rft", wc),
        eval_backend=lambda wc: param("eval.backend", wc),
        eval_vllm=lambda wc: param("eval.vllm", wc),
        rewards=lambda wc: param("rewards", wc),
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_threads=lambda wc: param("train.threads", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("sft_rft")
    log:
        "data/logs/sft_rft/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline sft-rft --base data/models/base --out data/models/sft/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# merge_ties@{seed}: the TIES-merging baseline: the best single-task checkpoints on val, merged into θ0 with mergekit
rule merge_ties:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        expand("data/models/single/seed{seed}/{t}/checkpoints", t=TASKS, allow_missing=True),
        expand("data/models/single/seed{seed}/{t}/metrics.json", t=TASKS, allow_missing=True),
        "data/eval/transfer/seed{seed}/units.jsonl",
        expand("data/curated/{t}/val.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("merge_ties"),
    output:
        directory("data/models/merged/seed{seed}/model"),
        "data/models/merged/seed{seed}/selection.json",
    params:
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        baselines_merge=lambda wc: param("baselines.merge", wc),
    threads: workflow.cores
    resources: **slurm_resources("merge_ties")
    log:
        "data/logs/merge_ties/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline merge-ties --base data/models/base --singles data/models/single/seed{wildcards.seed} --reuse data/eval/transfer/seed{wildcards.seed} --out data/models/merged/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_curriculum@{seed}: MT-GRPO task by task in the order of `order`; its first segment is σ(1)'s single-task run (Section 2.3)
rule train_curriculum:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        "data/order/curriculum.json",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        code=stage_code("train_curriculum"),
    output:
        directory("data/models/curriculum/seed{seed}/model"),
        directory("data/models/curriculum/seed{seed}/segments"),
        directory("data/models/curriculum/seed{seed}/checkpoints"),
        "data/models/curriculum/seed{seed}/log.jsonl",
        "data/models/curriculum/seed{seed}/metrics.json",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("train_curriculum")
    priority: 50
    log:
        "data/logs/train_curriculum/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode curriculum --order data/order/curriculum.json --base data/models/base --singles data/models/single/seed{wildcards.seed} --out data/models/curriculum/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# train_joint@{seed}: MT-GRPO over all tasks mixed (Section 2.3)
rule train_joint:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        code=stage_code("train_joint"),
    output:
        directory("data/models/joint/seed{seed}/model"),
        directory("data/models/joint/seed{seed}/checkpoints"),
        "data/models/joint/seed{seed}/log.jsonl",
        "data/models/joint/seed{seed}/metrics.json",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("train_joint")
    log:
        "data/logs/train_joint/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode joint --base data/models/base --out data/models/joint/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_final@{seed}: Base, ST×K, SFT, MM, JT and CL on test (Table 1; Base and ST reused from evaluate_transfer)
rule evaluate_final:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        "data/eval/transfer/seed{seed}/units.jsonl",
        "data/models/sft/seed{seed}/model",
        "data/models/merged/seed{seed}/model",
        "data/models/joint/seed{seed}/model",
        "data/models/curriculum/seed{seed}/model",
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("evaluate_final"),
    output:
        "data/eval/final/seed{seed}/accuracies.csv",
        "data/eval/final/seed{seed}/entropies.csv",
        "data/eval/final/seed{seed}/units.jsonl",
    params:
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_final")
    log:
        "data/logs/evaluate_final/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single/seed{wildcards.seed} --model sft=data/models/sft/seed{wildcards.seed}/model --model merged=data/models/merged/seed{wildcards.seed}/model --model joint=data/models/joint/seed{wildcards.seed}/model --model curriculum=data/models/curriculum/seed{wildcards.seed}/model --split test --reuse data/eval/transfer/seed{wildcards.seed} --out data/eval/final/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# evaluate_benchmarks@{seed}: the final models on Table 1's benchmarks (benchmarks.names); Base and ST×K from benchmark_transfer
rule evaluate_benchmarks:
    input:
        "data/models/sft/seed{seed}/model",
        "data/models/merged/seed{seed}/model",
        "data/models/joint/seed{seed}/model",
        "data/models/curriculum/seed{seed}/model",
        "data/eval/benchmark_transfer/seed{seed}/results.csv",
        code=stage_code("evaluate_benchmarks"),
    output:
        "data/eval/benchmarks/seed{seed}/results.csv",
    params:
        eval=lambda wc: param("eval", wc),
        rewards=lambda wc: param("rewards", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    threads: workflow.cores
    resources: **slurm_resources("evaluate_benchmarks")
    log:
        "data/logs/evaluate_benchmarks/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline benchmark --model sft=data/models/sft/seed{wildcards.seed}/model --model merged=data/models/merged/seed{wildcards.seed}/model --model joint=data/models/joint/seed{wildcards.seed}/model --model curriculum=data/models/curriculum/seed{wildcards.seed}/model --reuse data/eval/benchmark_transfer/seed{wildcards.seed}/results.csv --out data/eval/benchmarks/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# validate_predictions@{seed}: extra curricula trained and measured against the predictions of Algorithm 1 and the pairwise predictor (Table 3)
rule validate_predictions:
    input:
        "data/order/curriculum.json",
        "data/order/curricula.csv",
        "data/eval/transfer/seed{seed}/accuracies.csv",
        "data/models/curriculum/seed{seed}/model",
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        "data/pairs/seed{seed}/accuracies.csv",
        "data/pairs/seed{seed}/runs",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/val.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("validate_predictions"),
    output:
        "data/validate/seed{seed}/predictions.csv",
        directory("data/validate/seed{seed}/models"),
        "data/validate/seed{seed}/validation.json",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        order_floor=lambda wc: param("order.floor", wc),
        order_pairwise_scales=lambda wc: param("order.pairwise_scales", wc),
        validate=lambda wc: param("validate", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("validate_predictions")
    priority: 50
    log:
        "data/logs/validate_predictions/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline validate-predictions --order-dir data/order --accuracies data/eval/transfer/seed{wildcards.seed}/accuracies.csv --curriculum data/models/curriculum/seed{wildcards.seed} --base data/models/base --singles data/models/single/seed{wildcards.seed} --pairs data/pairs/seed{wildcards.seed} --out data/validate/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# ablate_temperature@{seed}: Table 2: single-task GRPO at other rollout temperatures, evaluated on every task's test split (Sec. 5.3)
rule ablate_temperature:
    input:
        "data/models/base",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("ablate_temperature"),
    output:
        directory("data/ablation/temperature/seed{seed}/runs"),
        "data/ablation/temperature/seed{seed}/accuracies.csv",
        "data/ablation/temperature/seed{seed}/entropies.csv",
        "data/ablation/temperature/seed{seed}/units.jsonl",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        ablations_temperature=lambda wc: param("ablations.temperature", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("ablate_temperature")
    log:
        "data/logs/ablate_temperature/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline ablate-temperature --base data/models/base --out data/ablation/temperature/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# ablate_format@{seed}: Figure 3: a policy trained on letter choices beside the full-text one, both formats evaluated (App. A.2.1)
rule ablate_format:
    input:
        "data/models/base",
        expand("data/models/single/seed{seed}/{t}/model", t=TASKS, allow_missing=True),
        "data/eval/transfer/seed{seed}/units.jsonl",
        expand("data/curated/{t}/train.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/val.parquet", t=TASKS, allow_missing=True),
        expand("data/curated/{t}/test.parquet", t=TASKS, allow_missing=True),
        code=stage_code("ablate_format"),
    output:
        directory("data/ablation/answer_format/seed{seed}/curated"),
        directory("data/ablation/answer_format/seed{seed}/runs"),
        "data/ablation/answer_format/seed{seed}/accuracies.csv",
        "data/ablation/answer_format/seed{seed}/units.jsonl",
    params:
        train_backend=lambda wc: param("train.backend", wc),
        train_verl=lambda wc: param("train.verl", wc),
        train_grpo=lambda wc: param("train.grpo", wc),
        train_threads=lambda wc: param("train.threads", wc),
        rewards=lambda wc: param("rewards", wc),
        train_overrides=lambda wc: param("train.overrides", wc),
        eval=lambda wc: param("eval", wc),
        ablations_answer_format=lambda wc: param("ablations.answer_format", wc),
        benchmarks=lambda wc: param("benchmarks", wc),
    threads: TRAIN_THREADS
    resources: **slurm_resources("ablate_format")
    log:
        "data/logs/ablate_format/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline ablate-format --base data/models/base --singles data/models/single/seed{wildcards.seed} --reuse data/eval/transfer/seed{wildcards.seed} --out data/ablation/answer_format/seed{wildcards.seed} --seed {wildcards.seed} --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"


# report: the paper's tables and figures in data/report/, each accuracy the replicas' mean (± their SD)
rule report:
    input:
        expand("data/eval/benchmarks/seed{s}/results.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/benchmark_transfer/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/transfer/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/transfer/seed{s}/entropies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/transfer/seed{s}/units.jsonl", s=SEEDS, allow_missing=True),
        expand("data/eval/final/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/eval/final/seed{s}/units.jsonl", s=SEEDS, allow_missing=True),
        "data/order/curriculum.json",
        "data/order/entropy_change.csv",
        expand("data/ablation/temperature/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/ablation/temperature/seed{s}/entropies.csv", s=SEEDS, allow_missing=True),
        expand("data/ablation/temperature/seed{s}/units.jsonl", s=SEEDS, allow_missing=True),
        expand("data/ablation/answer_format/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/validate/seed{s}/predictions.csv", s=SEEDS, allow_missing=True),
        expand("data/validate/seed{s}/validation.json", s=SEEDS, allow_missing=True),
        expand("data/pairs/seed{s}/accuracies.csv", s=SEEDS, allow_missing=True),
        expand("data/models/single/seed{s}/{t}/log.jsonl", t=TASKS, s=SEEDS, allow_missing=True),
        expand("data/models/joint/seed{s}/log.jsonl", s=SEEDS, allow_missing=True),
        expand("data/models/curriculum/seed{s}/log.jsonl", s=SEEDS, allow_missing=True),
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
        "data/report/details.json",
        "data/report/metrics.json",
    params:
        seeds=lambda wc: param("seeds", wc),
        order_floor=lambda wc: param("order.floor", wc),
        order_weights=lambda wc: param("order.weights", wc),
        order_pairwise_scales=lambda wc: param("order.pairwise_scales", wc),
        eval_accuracy=lambda wc: param("eval.accuracy", wc),
        eval_samples=lambda wc: param("eval.samples", wc),
        ablations=lambda wc: param("ablations", wc),
    log:
        "data/logs/report.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline report --transfer data/eval/transfer/seed{{seeds}} --final data/eval/final/seed{{seeds}} --order-dir data/order --validate data/validate/seed{{seeds}} --pairs data/pairs/seed{{seeds}} --benchmarks data/eval/benchmarks/seed{{seeds}} --benchmark-transfer data/eval/benchmark_transfer/seed{{seeds}} --singles data/models/single/seed{{seeds}} --joint data/models/joint/seed{{seeds}} --curriculum data/models/curriculum/seed{{seeds}} --temperature data/ablation/temperature/seed{{seeds}} --answer-format data/ablation/answer_format/seed{{seeds}} --out data/report --params .snakemake/omni-thinker/params.yaml > {log} 2>&1"
